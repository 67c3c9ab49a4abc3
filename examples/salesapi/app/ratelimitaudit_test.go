package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/examples/salesapi/app"
	"github.com/keel-go/keel/examples/salesapi/gateway"
)

// Every 429 of the per-API-key limit is audited as a denial (through the
// middleware's OnLimited hook), and nothing else the key does is.
func TestPerKeyRateLimitDenialsAreAudited(t *testing.T) {
	ctx := context.Background()
	gw, err := gateway.Start("127.0.0.1:0", gateway.Chaos{})
	require.NoError(t, err)
	defer gw.Close()
	const admin = "limit-test-admin-key-0123456789abcdef"
	keys, err := app.ParseAPIKeys(admin + "=admin")
	require.NoError(t, err)
	dir := t.TempDir()
	a, err := app.New(ctx, app.Config{DataDir: dir, APIKeys: keys, GatewayURL: gw.URL(), RateLimit: 1, RateBurst: 3}, nil)
	require.NoError(t, err)
	closed := false
	defer func() {
		if !closed {
			a.Close()
		}
	}()
	call := func(path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = "192.0.2.1:4000"
		r.Header.Set("Authorization", "Bearer "+admin)
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, r)
		return w
	}
	statuses := map[int]int{}
	for range 7 {
		statuses[call("/v1/customers").Code]++
	}
	require.Equal(t, 4, statuses[http.StatusTooManyRequests], "the burst of 3 then refusals: %v", statuses)

	require.NoError(t, a.Close())
	closed = true
	segments, err := filepath.Glob(filepath.Join(dir, "audit", "audit-*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, segments)
	denials := 0
	for _, seg := range segments {
		b, err := os.ReadFile(seg)
		require.NoError(t, err)
		denials += strings.Count(string(b), `"rate limited"`)
	}
	assert.Equal(t, 4, denials, "one audited denial per 429")
}
