package mask

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type loginEvent struct {
	User  string `mask:"email"`
	Token string `mask:"redact"`
}

type tokenValuer string

func (t tokenValuer) LogValue() slog.Value { return slog.StringValue(string(t)) }

func decode(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m), buf.String())
	return m
}

func logEverything(l *slog.Logger) {
	l.With("api_key", "k-123").WithGroup("req").Info("login",
		"email", "ann@example.com",
		slog.Group("login", "password", "hunter2", "method", "pw", slog.Group("deeper", "token", "t-1")),
		"event", loginEvent{User: "bob@example.org", Token: "t-2"},
		"eventPtr", &loginEvent{User: "eve@example.net", Token: "t-3"},
		"body", map[string]any{"card_number": "4111111111111111", "qty": 2},
		"refresh_token", tokenValuer("t-4"),
		"count", 3,
		slog.Group("auth", "user", "u", "scheme", "basic"),
	)
}

func assertMasked(t *testing.T, got map[string]any, raw string, groupKeysMasked bool) {
	t.Helper()
	for _, secret := range []string{"k-123", "ann@example.com", "hunter2", "t-1", "t-2", "t-3", "t-4", "bob@example.org", "eve@example.net", "4111111111111111"} {
		assert.NotContains(t, raw, secret)
	}
	assert.Equal(t, Redacted, got["api_key"])
	req := got["req"].(map[string]any)
	assert.Equal(t, "a***@example.com", req["email"])
	auth := req["login"].(map[string]any)
	assert.Equal(t, Redacted, auth["password"])
	assert.Equal(t, "pw", auth["method"])
	assert.Equal(t, Redacted, auth["deeper"].(map[string]any)["token"])
	assert.Equal(t, "b***@example.org", req["event"].(map[string]any)["User"])
	assert.Equal(t, "e***@example.net", req["eventPtr"].(map[string]any)["User"])
	assert.Equal(t, "411111******1111", req["body"].(map[string]any)["card_number"])
	assert.Equal(t, float64(3), req["count"])
	if groupKeysMasked {
		assert.Equal(t, Redacted, req["auth"], "a group under a sensitive key is redacted whole")
	} else {
		// Standard handlers never pass a group to ReplaceAttr, only its
		// members, with the names of their groups: each is redacted.
		assert.Equal(t, map[string]any{"user": Redacted, "scheme": Redacted}, req["auth"])
	}
}

func TestHandlerMasksAttributesGroupsAndWith(t *testing.T) {
	var buf bytes.Buffer
	logEverything(slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))))
	assertMasked(t, decode(t, &buf), buf.String(), true)
	h := Default().Handler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	assert.False(t, h.Enabled(context.Background(), slog.LevelInfo))
}

func TestReplaceAttrMasksAttributesGroupsAndWith(t *testing.T) {
	var buf bytes.Buffer
	logEverything(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Default().ReplaceAttr})))
	assertMasked(t, decode(t, &buf), buf.String(), false)
}

func TestHandlerRedactsUnmaskableStructs(t *testing.T) {
	type bad struct {
		Email string `mask:"nope"`
	}
	var buf bytes.Buffer
	slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))).Info("x", "v", bad{Email: "ann@example.com"})
	assert.NotContains(t, buf.String(), "ann@example.com")
	assert.Equal(t, Redacted, decode(t, &buf)["v"])
}

func TestHandlerMasksMessagesWhenAsked(t *testing.T) {
	m, err := New(Config{Messages: true})
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(m.Handler(slog.NewJSONHandler(&buf, nil))).Info("sent invoice to ann@example.com for card 4111 1111 1111 1111")
	assert.Equal(t, "sent invoice to a***@example.com for card ***1111", decode(t, &buf)["msg"])

	buf.Reset()
	slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))).Info("sent to ann@example.com")
	assert.Equal(t, "sent to ann@example.com", decode(t, &buf)["msg"], "messages are left alone by default")
}
