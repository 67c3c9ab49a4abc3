package mask

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A logger group named by a sensitive key (Logger.WithGroup) is redacted
// like slog.Group under that key: every attribute logged into it, by the
// record or by With, is "[REDACTED]". WithGroup("password") used to log the
// secret in clear.
func TestWithGroupUnderASensitiveKeyRedactsItsAttributes(t *testing.T) {
	const secret = "hunter2-SECRET"
	var buf bytes.Buffer
	l := slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil)))

	l.WithGroup("password").Info("m", "value", secret, slog.Group("g", "x", secret), "n", 3)
	assert.NotContains(t, buf.String(), secret)
	assert.Equal(t, map[string]any{"value": Redacted, "g": Redacted, "n": Redacted}, decode(t, &buf)["password"])

	buf.Reset()
	l.WithGroup("req").WithGroup("auth").With("user", secret).WithGroup("inner").Info("m", "value", secret)
	assert.NotContains(t, buf.String(), secret, "a sensitive group anywhere on the path")
	creds := decode(t, &buf)["req"].(map[string]any)["auth"].(map[string]any)
	assert.Equal(t, Redacted, creds["user"])
	assert.Equal(t, map[string]any{"value": Redacted}, creds["inner"])

	// Other groups keep masking by key as before.
	buf.Reset()
	l.WithGroup("req").Info("m", "email", "ann@example.com", "method", "pw")
	assert.Equal(t, map[string]any{"email": "a***@example.com", "method": "pw"}, decode(t, &buf)["req"])

	// ReplaceAttr gets the group names from the standard handlers, and
	// redacts an attribute under a sensitive one, from WithGroup or
	// slog.Group alike.
	buf.Reset()
	rl := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Default().ReplaceAttr}))
	rl.WithGroup("password").Info("m", "value", secret)
	rl.Info("m", slog.Group("token", "value", secret), slog.Group("req", "method", "pw"))
	assert.NotContains(t, buf.String(), secret)
	assert.Contains(t, buf.String(), `"password":{"value":"[REDACTED]"}`)
	assert.Contains(t, buf.String(), `"token":{"value":"[REDACTED]"}`)
	assert.Contains(t, buf.String(), `"req":{"method":"pw"}`)
}

// A sensitive group a Policy's role may see (WithGroup("email") for a role
// that sees pii) is shown, masked by its members' own keys, and each record
// that shows something in it is reported with the group's class.
func TestPolicyHandlerRevealsAGroupItsRoleMaySee(t *testing.T) {
	audit := &auditLog{}
	p := newTestPolicy(t, audit)
	var buf bytes.Buffer
	l := slog.New(p.Handler(slog.NewJSONHandler(&buf, nil), "support")).WithGroup("email")
	l.Info("m", "work", "ann@example.com", "password", "hunter2")
	rec := decode(t, &buf)["email"].(map[string]any)
	assert.Equal(t, "ann@example.com", rec["work"])
	assert.Equal(t, Redacted, rec["password"], "members keep their own keys' rules")
	require.Len(t, audit.got, 1)
	assert.Equal(t, []RevealedField{{Path: "email", Class: "pii"}}, audit.got[0].Fields)

	// For a role that may not see it, the group is redacted.
	buf.Reset()
	slog.New(p.Handler(slog.NewJSONHandler(&buf, nil), "sales")).WithGroup("email").Info("m", "work", "ann@example.com")
	assert.Equal(t, map[string]any{"work": Redacted}, decode(t, &buf)["email"])
}

// Attributes added with Logger.With are reported to the audit hook with
// every record that shows them, with that record's context, not once when
// With is called: the hook is "who saw what", and a With whose logger never
// logs showed nothing. They used to be reported once, at With.
func TestPolicyHandlerAuditsWithAttributesPerRecord(t *testing.T) {
	audit := &auditLog{}
	p := newTestPolicy(t, audit)
	type ctxKey struct{}
	var buf bytes.Buffer
	l := slog.New(p.Handler(slog.NewJSONHandler(&buf, nil), "support")).With("email", "ann@example.com")
	assert.Empty(t, audit.got, "With alone shows nothing to anyone")

	for _, id := range []string{"r1", "r2", "r3"} {
		l.InfoContext(context.WithValue(context.Background(), ctxKey{}, id), "m")
	}
	require.Len(t, audit.got, 3, "three records showed the email in clear")
	for _, r := range audit.got {
		assert.Equal(t, Revealed{Role: "support", Fields: []RevealedField{{"email", "pii"}}}, r)
	}

	// With's fields join the record's own, in one report per record; With
	// inside a group is reported under the group's path.
	audit.got = nil
	l.WithGroup("req").With("phone", "+44 20 7946 0958").Info("m", "card_number", "4111111111111111", "ip", "192.0.2.1")
	require.Len(t, audit.got, 1)
	assert.Equal(t, []RevealedField{{"email", "pii"}, {"req.ip", "pii"}, {"req.phone", "pii"}}, audit.got[0].Fields)

	// A record the handler drops (level) is not reported.
	audit.got = nil
	quiet := slog.New(p.Handler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), "support")).With("email", "ann@example.com")
	quiet.Info("dropped")
	assert.Empty(t, audit.got)
}
