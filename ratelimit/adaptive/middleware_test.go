package adaptive_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
)

// serve runs a request through h in its own goroutine and returns where
// its recorder will arrive once h returns.
func serve(h http.Handler, r *http.Request) chan *httptest.ResponseRecorder {
	out := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		out <- rec
	}()
	return out
}

func TestWrapShedsWithTheHouseProblemAndRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := fixed(t, 10, adaptive.Config{
			Name: "api",
			RequestPriority: func(r *http.Request) adaptive.Priority {
				if r.URL.Path == "/pay" {
					return adaptive.Critical
				}
				return adaptive.Low
			},
			RequestTenant: func(r *http.Request) string { return r.Header.Get("X-Tenant") },
		})
		release := make(chan struct{})
		h := l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			<-release
			w.WriteHeader(http.StatusNoContent)
		}))
		var running []chan *httptest.ResponseRecorder
		for range 8 { // Low fills its 0.8 of the limit
			running = append(running, serve(h, httptest.NewRequest(http.MethodGet, "/report", nil)))
		}
		synctest.Wait()
		assert.Equal(t, 8, l.InFlight())

		rec := <-serve(h, httptest.NewRequest(http.MethodGet, "/report", nil))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		assert.Empty(t, rec.Header().Get("RateLimit"))
		var p ratelimit.Problem
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		assert.Equal(t, ratelimit.Problem{
			Type:             ratelimit.ProblemTypeReducedCapacity,
			Title:            "Temporary Reduced Capacity",
			Status:           http.StatusServiceUnavailable,
			Detail:           `Too many requests in progress ("api"); retry shortly.`,
			Code:             ratelimit.CodeOverloaded,
			ViolatedPolicies: []string{"api"},
		}, p)

		// Critical requests still get the headroom Low left, one tenant
		// at most half the limit of it.
		pay := func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/pay", nil)
			r.Header.Set("X-Tenant", "acme")
			return r
		}
		running = append(running, serve(h, pay()), serve(h, pay()))
		synctest.Wait()
		assert.Equal(t, 10, l.InFlight())
		rec = <-serve(h, pay())
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)

		close(release)
		for _, out := range running {
			assert.Equal(t, http.StatusNoContent, (<-out).Code)
		}
		assert.Zero(t, l.InFlight())
	})
}

func TestWrapUsesTheContextWithoutRequestHooksAndTheWriteProblemHook(t *testing.T) {
	var written []ratelimit.Problem
	l := fixed(t, 2, adaptive.Config{
		WriteProblem: func(w http.ResponseWriter, _ *http.Request, p ratelimit.Problem) {
			written = append(written, p)
			w.WriteHeader(p.Status)
		},
	})
	h := l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	hold := acquireN(t, l, adaptive.WithPriority(t.Context(), adaptive.Critical), 1)
	// Normal may fill 0.9 of 2, that is 1: taken.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Len(t, written, 1)
	assert.Equal(t, ratelimit.CodeOverloaded, written[0].Code)
	// A Critical request (from its context) gets the last slot.
	rec = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	h.ServeHTTP(rec, r.WithContext(adaptive.WithPriority(r.Context(), adaptive.Critical)))
	assert.Equal(t, http.StatusOK, rec.Code)
	hold[0].Release()
	// A tenant from the context is capped: TenantShare 0.5 of 2 is 1.
	t1 := adaptive.WithTenant(adaptive.WithPriority(t.Context(), adaptive.Critical), "acme")
	hold = acquireN(t, l, t1, 1)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r.WithContext(t1))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "acme", adaptive.TenantFrom(t1))
	hold[0].Release()
}
