package ratelimit_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
)

// TestMiddlewareOnLimitedSeesEvery429: the hook is called once per 429,
// with the request and the refusing decision, and never for a request let
// through or refused for another reason.
func TestMiddlewareOnLimitedSeesEvery429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Limit: 1, Period: time.Minute})
		require.NoError(t, err)
		defer k.Close()
		type call struct {
			path string
			d    ratelimit.Decision
		}
		var calls []call
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
			Limiter: k, Key: ratelimit.HeaderKey("X-Tenant"),
			OnLimited: func(r *http.Request, d ratelimit.Decision) { calls = append(calls, call{r.URL.Path, d}) },
		})
		require.NoError(t, err)
		h := mw.Wrap(okHandler())
		tenant := func(r *http.Request) { r.Header.Set("X-Tenant", "acme"); r.URL.Path = "/orders/7" }

		assert.Equal(t, http.StatusOK, serve(h, tenant).Code)
		assert.Equal(t, http.StatusBadRequest, serve(h, nil).Code, "no key")
		assert.Empty(t, calls)
		assert.Equal(t, http.StatusTooManyRequests, serve(h, tenant).Code)
		assert.Equal(t, http.StatusTooManyRequests, serve(h, tenant).Code)
		require.Len(t, calls, 2)
		assert.Equal(t, "/orders/7", calls[0].path)
		assert.False(t, calls[0].d.Allowed)
		assert.Equal(t, time.Minute, calls[0].d.RetryAfter)
	})
}

// TestMiddlewareWriteProblem: the application renders refusals in its own
// format, with the RateLimit fields and Retry-After already set.
func TestMiddlewareWriteProblem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Limit: 1, Period: time.Minute})
		require.NoError(t, err)
		defer k.Close()
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
			Limiter: k, Key: ratelimit.HeaderKey("X-Tenant"),
			WriteProblem: func(w http.ResponseWriter, r *http.Request, p ratelimit.Problem) {
				assert.NotEmpty(t, w.Header().Get("RateLimit-Policy"), "fields are set before the writer runs")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(p.Status)
				_ = json.NewEncoder(w).Encode(map[string]any{"error": p.Code, "policies": p.ViolatedPolicies, "path": r.URL.Path})
			},
		})
		require.NoError(t, err)
		h := mw.Wrap(okHandler())
		tenant := func(r *http.Request) { r.Header.Set("X-Tenant", "acme") }
		serve(h, tenant)
		rec := serve(h, tenant)
		assert.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, "60", rec.Header().Get("Retry-After"))
		assert.Equal(t, `"api";r=0;t=60`, rec.Header().Get("RateLimit"))
		assert.JSONEq(t, `{"error":"rate_limited","policies":["api"],"path":"/orders"}`, rec.Body.String())

		rec = serve(h, nil)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.JSONEq(t, `{"error":"rate_limit_key_missing","policies":null,"path":"/orders"}`, rec.Body.String())
	})
}
