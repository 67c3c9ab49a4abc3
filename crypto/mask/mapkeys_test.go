package mask

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// map[any]any, what YAML decoders produce, is masked by key name like
// map[string]any: its keys are interfaces, and those holding a string are
// looked up. It used to pass through in clear.
func TestInterfaceKeyedMapsAreMaskedByKeyName(t *testing.T) {
	const secret = "hunter2-SECRET"
	cfg := map[any]any{
		"password": secret,
		"api_key":  secret,
		"email":    "ann@example.com",
		"db":       map[any]any{"user": "app", "token": secret},
		"list":     []any{map[any]any{"client_secret": secret}},
		7:          "seven",
		true:       "yes",
	}
	out, ok := Default().Value("cfg", cfg).(map[any]any)
	require.True(t, ok)
	assert.Equal(t, Redacted, out["password"])
	assert.Equal(t, Redacted, out["api_key"])
	assert.Equal(t, "a***@example.com", out["email"])
	assert.Equal(t, Redacted, out["db"].(map[any]any)["token"])
	assert.Equal(t, "app", out["db"].(map[any]any)["user"])
	assert.Equal(t, Redacted, out["list"].([]any)[0].(map[any]any)["client_secret"])
	assert.Equal(t, "seven", out[7], "keys that are not strings have no name to look up")
	assert.Equal(t, "yes", out[true])
	assert.Equal(t, secret, cfg["password"], "the input is untouched")

	var txt bytes.Buffer
	slog.New(Default().Handler(slog.NewTextHandler(&txt, nil))).Info("m", "cfg", cfg)
	assert.NotContains(t, txt.String(), secret)
	assert.NotContains(t, txt.String(), "ann@example.com")

	// A map keyed by a named string type, behind an interface, too.
	type name string
	named := map[any]string{name("session_id"): secret}
	assert.Equal(t, Redacted, Default().Value("v", named).(map[any]string)[name("session_id")])
}

type byEmail struct {
	ByEmail map[string]string `mask:"email"`
}

type phoneBook struct {
	Phones map[string]string `mask:"phone"`
}

type labelled struct {
	Notes  map[string]string `mask:"text"`
	Hidden map[string]string `mask:"redact"`
}

// A tag on a map applies to every string in it, keys included. A key cannot
// be masked in a copy (two keys could mask alike and merge), so a tagged
// map whose key the rule would change is an error naming the field; keys
// the rule leaves as they are ("support" under text) are copied. redact
// sets a map to its zero value, like any other non-string. Keys used to be
// copied in clear.
func TestTaggedMapKeysAreNeverCopiedInClear(t *testing.T) {
	got, err := Struct(byEmail{ByEmail: map[string]string{"ann@example.com": "bob@example.com"}})
	require.ErrorContains(t, err, `mask: mask.byEmail.ByEmail: rule "email" would change a map key`)
	assert.NotContains(t, err.Error(), "ann@", "the error does not name the key")
	assert.Nil(t, got.ByEmail, "on error the zero value")

	_, err = Struct(phoneBook{Phones: map[string]string{"home": "+44 20 7946 0958"}})
	require.ErrorContains(t, err, `mask.phoneBook.Phones: rule "phone" would change a map key`)

	out, err := Struct(labelled{
		Notes:  map[string]string{"support": "wrote from bob@example.org"},
		Hidden: map[string]string{"ann@example.com": "x", "k": "y"},
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"support": "wrote from b***@example.org"}, out.Notes)
	assert.Nil(t, out.Hidden, "redact: the zero value, keys and all")

	_, err = Struct(labelled{Notes: map[string]string{"call 0151 1234 5678": "x"}})
	require.ErrorContains(t, err, `mask.labelled.Notes: rule "text" would change a map key`)

	// In logs such a value is redacted whole, never shown with its keys.
	var buf bytes.Buffer
	slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))).Info("m", "v", byEmail{ByEmail: map[string]string{"ann@example.com": "b"}})
	assert.NotContains(t, buf.String(), "ann@")
	assert.Equal(t, Redacted, decode(t, &buf)["v"])

	// A map under a sensitive key name is nothing shown, keys included.
	type account struct {
		Email  map[string]string
		Tokens map[string]int
	}
	acc, ok := Default().Value("v", account{Email: map[string]string{"ann@example.com": "home"}, Tokens: map[string]int{"t-123": 1}}).(account)
	require.True(t, ok)
	assert.Nil(t, acc.Email)
	assert.Nil(t, acc.Tokens)
}

type keyedCustomer struct {
	Email string `json:"email" mask:"email,reveal=pii"`
	Age   int    `mask:"email"` // a bad tag, to provoke an error
}

// Map keys can be personal data: they never reach an audit record's path or
// an error message, where "[key]" stands for them. They used to.
func TestMapKeysNeverReachAuditPathsOrErrors(t *testing.T) {
	var got []Revealed
	p, err := NewPolicy(PolicyConfig{Reveal: map[string][]string{"admin": {"pii"}},
		Audit: func(_ context.Context, r Revealed) { got = append(got, r) }})
	require.NoError(t, err)
	ctx := WithRole(context.Background(), "admin")

	p.Map(ctx, map[string]any{"ann@example.com": map[string]any{"email": "ann@example.com"}})
	require.Len(t, got, 1)
	assert.Equal(t, []RevealedField{{Path: "map.[key].email", Class: "pii"}}, got[0].Fields)

	_, err = View(ctx, p, map[string]keyedCustomer{"bob@example.com": {Email: "bob@example.com"}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "bob@")

	_, err = Struct(map[string]keyedCustomer{"bob@example.com": {Email: "bob@example.com", Age: 3}})
	require.ErrorContains(t, err, `mask: map[string]mask.keyedCustomer.[key].Age: rule "email" applies to strings`)
	assert.NotContains(t, err.Error(), "bob@")

	// Keys of every type: interface keys too.
	got = nil
	p.Map(ctx, map[string]any{"m": map[any]any{"carol@example.com": map[string]any{"email": "carol@example.com"}}})
	require.Len(t, got, 1)
	assert.Equal(t, []RevealedField{{Path: "map.[key].[key].email", Class: "pii"}}, got[0].Fields)
	assert.NotContains(t, fmt.Sprint(got), "carol@")

	// A log read by a role that sees pii: the record's audit paths hold no
	// key either.
	got = nil
	var buf bytes.Buffer
	slog.New(p.Handler(slog.NewJSONHandler(&buf, nil), "admin")).Info("m", "by_email", map[string]any{"dan@example.com": map[string]any{"email": "dan@example.com"}})
	require.Len(t, got, 1)
	assert.Equal(t, []RevealedField{{Path: "by_email.[key].email", Class: "pii"}}, got[0].Fields)
}
