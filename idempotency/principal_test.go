package idempotency_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/idempotency"
)

// A Principal that returns "" (no authenticated caller: the principal was
// read from a header the client left out, or authentication does not run
// before the middleware) used to put the request in one anonymous key space
// shared by every such caller: mallory, sending no account, got alice's
// response. Such a request is now refused with 500
// idempotency_principal_missing before the handler runs: it is a server
// misconfiguration, and the caller cannot fix it.
func TestEmptyPrincipalIsRefusedNotShared(t *testing.T) {
	o := &orders{body: "order for "}
	var logs bytes.Buffer
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m,
		Principal: func(r *http.Request) string { return r.Header.Get("X-Account") }})
	require.NoError(t, err)
	h := mw.Wrap(o)
	as := func(account string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Account", account) }
	}

	for _, body := range []string{"alice", "mallory"} {
		w := do(h, http.MethodPost, "/orders", "k1", body, nil)
		requireProblem(t, w, http.StatusInternalServerError, idempotency.CodePrincipalMissing)
		assert.NotContains(t, w.Body.String(), "alice")
		assert.Empty(t, w.Header().Get(idempotency.ReplayedHeader))
	}
	assert.Zero(t, o.runs.Load(), "the handler never runs without a scope")
	assert.Contains(t, logs.String(), "MiddlewareConfig.Principal returned an empty principal")
	assert.Equal(t, 2, strings.Count(logs.String(), "\n"), "logged once per refused request")

	// Nothing was stored under the key: a caller with a principal runs.
	w := do(h, http.MethodPost, "/orders", "k1", "alice", as("acct-alice"))
	require.Equal(t, http.StatusCreated, w.Code)
	assert.Empty(t, w.Header().Get(idempotency.ReplayedHeader))

	// Requests without a key use no key space and pass as before.
	w = do(h, http.MethodPost, "/orders", "", "anyone", nil)
	assert.Equal(t, http.StatusCreated, w.Code)
	// Methods the middleware does not cover pass too.
	w = do(h, http.MethodGet, "/orders", "k1", "", nil)
	assert.Equal(t, http.StatusCreated, w.Code)

	// A shared key space, chosen explicitly, has no principal to miss.
	shared, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, do(shared.Wrap(o), http.MethodPost, "/orders", "k2", "x", nil).Code)
}
