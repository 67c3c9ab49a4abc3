package mask

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type account struct {
	ID     string
	Email  string `mask:"email,reveal=pii"`
	Phone  string `mask:"phone,reveal=pii"`
	Card   string `mask:"card,reveal=card"`
	Secret string `mask:"redact"` // no class: never shown
	Notes  map[string]any
}

func testAccount() account {
	return account{ID: "a1", Email: "ann@example.com", Phone: "+44 20 7946 0958", Card: "4111111111111111",
		Secret: "s3cr3t", Notes: map[string]any{"email": "bob@example.org", "password": "hunter2"}}
}

type auditLog struct{ got []Revealed }

func (a *auditLog) hook(_ context.Context, r Revealed) { a.got = append(a.got, r) }

func newTestPolicy(t *testing.T, audit *auditLog) *Policy {
	t.Helper()
	p, err := NewPolicy(PolicyConfig{
		Reveal: map[string][]string{"admin": {"pii", "card"}, "support": {"pii"}, "sales": {}},
		Audit:  audit.hook,
	})
	require.NoError(t, err)
	return p
}

// Issue #16 item 2: masking that depends on who reads, for structs, maps and
// log records alike, with an audit hook.
func TestViewRevealsClassesByRole(t *testing.T) {
	audit := &auditLog{}
	p := newTestPolicy(t, audit)
	in := testAccount()

	admin, err := View(WithRole(context.Background(), "admin"), p, in)
	require.NoError(t, err)
	assert.Equal(t, "ann@example.com", admin.Email)
	assert.Equal(t, "+44 20 7946 0958", admin.Phone)
	assert.Equal(t, "4111111111111111", admin.Card)
	assert.Equal(t, Redacted, admin.Secret, "a field without a class is never shown")
	assert.Equal(t, "bob@example.org", admin.Notes["email"], "map keys have classes too (email: pii)")
	assert.Equal(t, Redacted, admin.Notes["password"])

	support, err := View(WithRole(context.Background(), "support"), p, in)
	require.NoError(t, err)
	assert.Equal(t, "ann@example.com", support.Email)
	assert.Equal(t, "411111******1111", support.Card, "support may not see cards")

	for _, role := range []string{"sales", "unknown", ""} {
		ctx := context.Background()
		if role != "" {
			ctx = WithRole(ctx, role)
		}
		v, err := View(ctx, p, in)
		require.NoError(t, err)
		assert.Equal(t, "a***@example.com", v.Email, role)
		assert.Equal(t, "***0958", v.Phone, role)
		assert.Equal(t, "b***@example.org", v.Notes["email"], role)
	}
	assert.Equal(t, "ann@example.com", in.Email, "the input is untouched")

	require.Len(t, audit.got, 2, "one report per view that showed anything")
	assert.Equal(t, Revealed{Role: "admin", Fields: []RevealedField{
		{"mask.account.Card", "card"}, {"mask.account.Email", "pii"}, {"mask.account.Notes.email", "pii"}, {"mask.account.Phone", "pii"},
	}}, audit.got[0])
	assert.Equal(t, "support", audit.got[1].Role)
	assert.NotContains(t, audit.got[1].Fields, RevealedField{"mask.account.Card", "card"})

	// A slice of records is one report, each field path once.
	audit.got = nil
	_, err = View(WithRole(context.Background(), "support"), p, []account{in, in})
	require.NoError(t, err)
	require.Len(t, audit.got, 1)
	assert.Len(t, audit.got[0].Fields, 3)

	// Empty fields reveal nothing and are not reported.
	audit.got = nil
	_, err = View(WithRole(context.Background(), "admin"), p, account{ID: "empty"})
	require.NoError(t, err)
	assert.Empty(t, audit.got)
}

func TestPolicyMapAndHandler(t *testing.T) {
	audit := &auditLog{}
	p := newTestPolicy(t, audit)
	in := map[string]any{"email": "ann@example.com", "password": "hunter2", "card_number": "4111111111111111"}
	out := p.Map(WithRole(context.Background(), "support"), in)
	assert.Equal(t, "ann@example.com", out["email"])
	assert.Equal(t, Redacted, out["password"])
	assert.Equal(t, "411111******1111", out["card_number"])
	assert.Equal(t, "a***@example.com", p.Map(context.Background(), in)["email"])
	require.Len(t, audit.got, 1)
	assert.Equal(t, Revealed{Role: "support", Fields: []RevealedField{{"map.email", "pii"}}}, audit.got[0])

	// A log read by support shows pii in clear, and says so to the audit hook.
	audit.got = nil
	var buf bytes.Buffer
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "req-1")
	var seenCtx []any
	p2, err := NewPolicy(PolicyConfig{Reveal: map[string][]string{"support": {"pii"}}, Audit: func(ctx context.Context, r Revealed) {
		audit.hook(ctx, r)
		seenCtx = append(seenCtx, ctx.Value(ctxKey{}))
	}})
	require.NoError(t, err)
	logger := slog.New(p2.Handler(slog.NewJSONHandler(&buf, nil), "support"))
	logger.InfoContext(ctx, "lookup", "email", "ann@example.com", "password", "hunter2", "account", testAccount())
	rec := decode(t, &buf)
	assert.Equal(t, "ann@example.com", rec["email"])
	assert.Equal(t, Redacted, rec["password"])
	acc := rec["account"].(map[string]any)
	assert.Equal(t, "ann@example.com", acc["Email"])
	assert.Equal(t, "411111******1111", acc["Card"])
	assert.NotContains(t, buf.String(), "hunter2")
	require.Len(t, audit.got, 1)
	assert.Equal(t, []any{"req-1"}, seenCtx, "the hook gets the record's context")
	assert.Equal(t, []RevealedField{{"account.Email", "pii"}, {"account.Notes.email", "pii"}, {"account.Phone", "pii"}, {"email", "pii"}}, audit.got[0].Fields)

	// The same record in a general log (the Masker's own handler) shows nothing.
	buf.Reset()
	slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))).InfoContext(ctx, "lookup", "email", "ann@example.com", "account", testAccount())
	assert.NotContains(t, buf.String(), "ann@example.com")
	assert.NotContains(t, buf.String(), "bob@example.org")
}

func TestPolicyAndTagValidation(t *testing.T) {
	_, err := NewPolicy(PolicyConfig{Reveal: map[string][]string{"": {"pii"}}})
	assert.ErrorContains(t, err, "mask: PolicyConfig.Reveal has an empty role")
	_, err = NewPolicy(PolicyConfig{Reveal: map[string][]string{"admin": {"p ii"}}})
	assert.ErrorContains(t, err, `mask: PolicyConfig.Reveal["admin"]: class "p ii"`)
	_, err = New(Config{Classes: map[string]string{"nickname": "pii"}})
	assert.ErrorContains(t, err, `Config.Classes["nickname"]: the key has no rule`)
	m, err := New(Config{Rules: map[string]Rule{"nickname": Name}, Classes: map[string]string{"nickname": "pii", "email": "contact"}})
	require.NoError(t, err)
	assert.Equal(t, "pii", m.ClassOf("Nick-Name"))
	assert.Equal(t, "contact", m.ClassOf("email"), "Classes override the defaults")
	assert.Empty(t, m.ClassOf("password"), "secrets have no class")

	type badOption struct {
		Email string `mask:"email,show=pii"`
	}
	type emptyClass struct {
		Email string `mask:"email,reveal="`
	}
	type twoClasses struct {
		Email string `mask:"email,reveal=a,reveal=b"`
	}
	_, err = Struct(badOption{Email: "a@b.c"})
	assert.ErrorContains(t, err, `mask: mask.badOption.Email: tag option "show=pii": want reveal=<class>`)
	_, err = Struct(emptyClass{})
	assert.ErrorContains(t, err, `tag option "reveal="`)
	_, err = Struct(twoClasses{})
	assert.ErrorContains(t, err, "two reveal classes")
	p, err := NewPolicy(PolicyConfig{Reveal: map[string][]string{"admin": {"pii"}}})
	require.NoError(t, err)
	got, err := View(WithRole(context.Background(), "admin"), p, badOption{Email: "ann@example.com"})
	assert.Error(t, err, "View fails closed like Struct")
	assert.Empty(t, got.Email)
	assert.True(t, p.Reveals("admin", "pii"))
	assert.False(t, p.Reveals("admin", "card"))
	assert.Equal(t, "admin", RoleFrom(WithRole(context.Background(), "admin")))
}
