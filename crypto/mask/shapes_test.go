package mask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type shapeCustomer struct {
	ID    int
	Email string `mask:"email"`
}

// hiddenBase is an unexported type embedded in exported ones: its exported
// fields are promoted, and encoding/json shows them.
type hiddenBase struct {
	Email string `mask:"email"`
	Plan  string
}

type promoted struct {
	hiddenBase
	ID int
}

// order holds a tagged struct in an unexported field: fmt's %+v shows it.
type order struct {
	ID       string
	customer shapeCustomer
}

type withHeaders struct {
	Path    string
	Headers http.Header
}

// Issue #16 item 1: every shape that reached the output of Masker.Handler in
// clear, and the shapes around them.
func TestHandlerMasksEveryShape(t *testing.T) {
	c := shapeCustomer{ID: 1, Email: "ann@example.com"}
	cases := []struct {
		name    string
		value   any
		secrets []string // must not appear in either handler's output
		want    string   // must appear in the JSON handler's output
	}{
		{"slice of tagged structs", []shapeCustomer{c, {ID: 2, Email: "bob@example.org"}},
			[]string{"ann@", "bob@"}, `[{"ID":1,"Email":"a***@example.com"},{"ID":2,"Email":"b***@example.org"}]`},
		{"map of tagged structs", map[string]shapeCustomer{"x": c},
			[]string{"ann@"}, `{"x":{"ID":1,"Email":"a***@example.com"}}`},
		{"pointer to a slice", &[]shapeCustomer{c}, []string{"ann@"}, `[{"ID":1,"Email":"a***@example.com"}]`},
		{"array", [1]shapeCustomer{c}, []string{"ann@"}, `[{"ID":1,"Email":"a***@example.com"}]`},
		{"map[string]any holding a struct", map[string]any{"c": c}, []string{"ann@"}, `{"c":{"ID":1,"Email":"a***@example.com"}}`},
		{"http.Header", http.Header{"Authorization": {"Bearer tok-123456"}, "Cookie": {"session=sess-123456"}, "Accept": {"*/*"}},
			[]string{"tok-123456", "sess-123456"}, `{"Accept":["*/*"],"Authorization":["[REDACTED]"],"Cookie":["[REDACTED]"]}`},
		{"struct holding an http.Header", withHeaders{Path: "/x", Headers: http.Header{"X-Api-Key": {"key-123456"}}},
			[]string{"key-123456"}, `{"Path":"/x","Headers":{"X-Api-Key":["[REDACTED]"]}}`},
		{"url.Values", url.Values{"api_key": {"key-123456"}, "q": {"shoes"}},
			[]string{"key-123456"}, `{"api_key":["[REDACTED]"],"q":["shoes"]}`},
		{"map[string][]string", map[string][]string{"api_key": {"key-123456"}, "email": {"ann@example.com"}},
			[]string{"key-123456", "ann@"}, `{"api_key":["[REDACTED]"],"email":["a***@example.com"]}`},
		{"json.RawMessage", json.RawMessage(`{"user":"ann","password":"hunter2-123456","n":12345678901234567890}`),
			[]string{"hunter2-123456"}, `{"n":12345678901234567890,"password":"[REDACTED]","user":"ann"}`},
		{"json.RawMessage that is not JSON", json.RawMessage(`password=hunter2-123456`), []string{"hunter2-123456"}, `"[REDACTED]"`},
		{"[]byte of JSON", []byte(`{"token":"tok-123456","ok":true}`), []string{"tok-123456"}, `{"ok":true,"token":"[REDACTED]"}`},
		{"[]byte that is not JSON", []byte("Bearer tok-123456"), []string{"tok-123456"}, `"[REDACTED]"`},
		{"embedded struct of an unexported type", promoted{hiddenBase: hiddenBase{Email: "ann@example.com", Plan: "pro"}, ID: 3},
			[]string{"ann@"}, `{"Email":"a***@example.com","Plan":"pro","ID":3}`},
		{"unexported field holding a tagged struct", order{ID: "o1", customer: c}, []string{"ann@"}, `"[REDACTED]"`},
		{"struct field named like a secret", struct{ User, Password string }{"ann", "hunter2-123456"},
			[]string{"hunter2-123456"}, `{"User":"ann","Password":"[REDACTED]"}`},
		{"interface in a slice", []any{c, "plain", 7}, []string{"ann@"}, `[{"ID":1,"Email":"a***@example.com"},"plain",7]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var j, txt bytes.Buffer
			slog.New(Default().Handler(slog.NewJSONHandler(&j, nil))).Info("m", "v", tc.value)
			slog.New(Default().Handler(slog.NewTextHandler(&txt, nil))).Info("m", "v", tc.value)
			for _, s := range tc.secrets {
				assert.NotContains(t, j.String(), s)
				assert.NotContains(t, txt.String(), s, "the text handler prints with %+v")
			}
			var rec map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(j.Bytes(), &rec), j.String())
			if tc.want != "" {
				assert.JSONEq(t, tc.want, string(rec["v"]))
			}
		})
	}
}

// The input is never modified, and ReplaceAttr masks the same shapes.
func TestReplaceAttrMasksEveryShapeAndNeverMutates(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer tok-123456"}}
	cs := []shapeCustomer{{ID: 1, Email: "ann@example.com"}}
	raw := json.RawMessage(`{"password":"hunter2-123456"}`)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Default().ReplaceAttr})).
		Info("m", "h", h, "cs", cs, "raw", raw)
	for _, s := range []string{"tok-123456", "ann@", "hunter2-123456"} {
		assert.NotContains(t, buf.String(), s)
	}
	assert.Equal(t, "Bearer tok-123456", h.Get("Authorization"))
	assert.Equal(t, "ann@example.com", cs[0].Email)
	assert.JSONEq(t, `{"password":"hunter2-123456"}`, string(raw))
}

func TestStructMasksPromotedFieldsAndRefusesHiddenData(t *testing.T) {
	in := promoted{hiddenBase: hiddenBase{Email: "ann@example.com", Plan: "pro"}, ID: 3}
	out, err := Struct(in)
	require.NoError(t, err)
	assert.Equal(t, "a***@example.com", out.Email)
	assert.Equal(t, "pro", out.Plan)
	assert.Equal(t, "ann@example.com", in.Email, "the input is untouched")
	j, err := json.Marshal(out)
	require.NoError(t, err)
	assert.NotContains(t, string(j), "ann@")

	got, err := Struct(order{ID: "o1", customer: shapeCustomer{Email: "ann@example.com"}})
	require.ErrorContains(t, err, "mask: mask.order.customer: unexported field holds data that must be masked")
	assert.Equal(t, order{}, got, "the zero value, never the input")
	assert.NotContains(t, fmt.Sprintf("%+v", got), "ann@")
	// With nothing in it to mask, the unexported field is copied.
	empty, err := Struct(order{ID: "o2"})
	require.NoError(t, err)
	assert.Equal(t, "o2", empty.ID)

	type embeddedPtr struct {
		*hiddenBase
	}
	_, err = Struct(embeddedPtr{&hiddenBase{Email: "ann@example.com"}})
	require.ErrorContains(t, err, "embeddedPtr.hiddenBase: unexported field holds data that must be masked")
}

// A field with a key-name rule or a tag that cannot be masked fails closed
// in logs too.
func TestHandlerRedactsWhatItCannotMask(t *testing.T) {
	type node struct {
		Next  *node
		Email string `mask:"email"`
	}
	cyclic := &node{Email: "ann@example.com"}
	cyclic.Next = cyclic
	var buf bytes.Buffer
	slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))).Info("m", "v", cyclic, "big", json.RawMessage(`"`+strings.Repeat("a", maxJSONBytes)+`"`))
	assert.NotContains(t, buf.String(), "ann@")
	rec := decode(t, &buf)
	assert.Equal(t, Redacted, rec["v"])
	assert.Equal(t, Redacted, rec["big"], "JSON too large to parse is redacted, not passed through")
}
