package ratelimit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
)

// sfItem matches one Structured Field list member as the middleware emits
// it: a String with Integer parameters (RFC 9651 §3.1, §3.1.2).
var sfItem = regexp.MustCompile(`^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"(?:;[a-z*][a-z0-9_.*-]*=-?[0-9]{1,15})+$`)

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
}

func serve(h http.Handler, mutate func(*http.Request)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.RemoteAddr = "192.0.2.10:51000"
	if mutate != nil {
		mutate(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMiddlewareHeadersAnd429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyed, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Limit: 60, Period: time.Minute, Burst: 2})
		require.NoError(t, err)
		defer keyed.Close()
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: keyed, Key: ratelimit.HeaderKey("X-Tenant")})
		require.NoError(t, err)
		h := mw.Wrap(okHandler())
		tenant := func(r *http.Request) { r.Header.Set("X-Tenant", "acme") }

		rec := serve(h, tenant)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "ok", rec.Body.String())
		assert.Equal(t, `"api";q=60;w=60`, rec.Header().Get("RateLimit-Policy"))
		assert.Equal(t, `"api";r=1;t=1`, rec.Header().Get("RateLimit"))
		assert.Empty(t, rec.Header().Get("Retry-After"))

		rec = serve(h, tenant)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, `"api";r=0;t=1`, rec.Header().Get("RateLimit"))

		rec = serve(h, tenant)
		assert.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Equal(t, `"api";q=60;w=60`, rec.Header().Get("RateLimit-Policy"))
		assert.Equal(t, `"api";r=0;t=1`, rec.Header().Get("RateLimit"))
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		assert.Equal(t, map[string]any{
			"type":              "https://iana.org/assignments/http-problem-types#quota-exceeded",
			"title":             "Quota Exceeded",
			"status":            float64(429),
			"detail":            `Rate limit "api" exceeded; retry after 1 s.`,
			"code":              "rate_limited",
			"violated-policies": []any{"api"},
		}, body)

		// Another tenant is not affected.
		rec = serve(h, func(r *http.Request) { r.Header.Set("X-Tenant", "globex") })
		assert.Equal(t, http.StatusOK, rec.Code)

		time.Sleep(time.Second)
		rec = serve(h, tenant)
		assert.Equal(t, http.StatusOK, rec.Code, "one unit restored after Retry-After")

		for _, name := range []string{"RateLimit", "RateLimit-Policy"} {
			assert.Regexp(t, sfItem, rec.Header().Get(name), name)
		}
	})
}

func TestMiddlewareRetryAfterIsNeverEarlierThanTheUnit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyed, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 10, Period: time.Minute, Burst: 1})
		require.NoError(t, err)
		defer keyed.Close()
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: keyed})
		require.NoError(t, err)
		h := mw.Wrap(okHandler())
		require.Equal(t, http.StatusOK, serve(h, nil).Code)
		time.Sleep(1500 * time.Millisecond)
		rec := serve(h, nil)
		require.Equal(t, http.StatusTooManyRequests, rec.Code)
		// One unit every 6s, 1.5s elapsed: 4.5s to wait, rounded up.
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
		assert.Equal(t, `"default";r=0;t=5`, rec.Header().Get("RateLimit"))
		assert.Equal(t, `"default";q=10;w=60`, rec.Header().Get("RateLimit-Policy"))
	})
}

func TestMiddlewareMissingKeyIs400(t *testing.T) {
	keyed, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 10})
	require.NoError(t, err)
	defer keyed.Close()
	var logs bytes.Buffer
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
		Limiter: keyed, Key: ratelimit.APIKey("X-API-Key"), Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	rec := serve(mw.Wrap(okHandler()), nil)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "rate_limit_key_missing", body["code"])
	assert.Equal(t, float64(400), body["status"])
	assert.Contains(t, logs.String(), "no API key in header X-Api-Key")
}

// TestMiddlewareWriteProblemHook: a service's own writer answers the 429,
// after the RateLimit fields and Retry-After are set; the default writer
// marks its problems no-store and nosniff.
func TestMiddlewareWriteProblemHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyed, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Limit: 60, Period: time.Minute, Burst: 1})
		require.NoError(t, err)
		defer keyed.Close()
		var got []ratelimit.Problem
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: keyed, WriteProblem: func(w http.ResponseWriter, _ *http.Request, p ratelimit.Problem) {
			got = append(got, p)
			assert.Equal(t, "1", w.Header().Get("Retry-After"), "set before the hook")
			assert.NotEmpty(t, w.Header().Get("RateLimit"), "set before the hook")
			w.WriteHeader(p.Status)
			_, _ = w.Write([]byte("mine"))
		}})
		require.NoError(t, err)
		h := mw.Wrap(okHandler())
		require.Equal(t, http.StatusOK, serve(h, nil).Code)
		rec := serve(h, nil)
		assert.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, "mine", rec.Body.String())
		require.Len(t, got, 1)
		assert.Equal(t, ratelimit.CodeLimited, got[0].Code)
		assert.Equal(t, ratelimit.ProblemTypeQuotaExceeded, got[0].Type)
		assert.Equal(t, []string{"api"}, got[0].ViolatedPolicies)

		plain, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: keyed})
		require.NoError(t, err)
		rec = serve(plain.Wrap(okHandler()), nil)
		require.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		assert.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
	})
}

// failingTaker stands for a shared limiter that cannot reach its store; the
// real case (redislimit in fail-closed mode) is tested in redislimit.
type failingTaker struct{}

func (failingTaker) Take(context.Context, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("store unreachable")
}
func (failingTaker) Policy() ratelimit.Quota {
	return ratelimit.Quota{Name: "shared", Quota: 5, Window: time.Second, Burst: 5}
}

func TestMiddlewareLimiterErrorIs503(t *testing.T) {
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: failingTaker{}})
	require.NoError(t, err)
	called := false
	rec := serve(mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })), nil)
	assert.False(t, called)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "rate_limiter_unavailable", body["code"])
}

type namedTaker struct {
	failingTaker
	name string
}

func (n namedTaker) Policy() ratelimit.Quota {
	return ratelimit.Quota{Name: n.name, Quota: 1, Window: time.Second}
}

func TestNewMiddlewareValidates(t *testing.T) {
	_, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{})
	assert.EqualError(t, err, "ratelimit: MiddlewareConfig.Limiter is required")

	_, err = ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: namedTaker{name: "caf\u00e9"}})
	assert.ErrorContains(t, err, "MiddlewareConfig.Limiter: ratelimit: policy name")

	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: namedTaker{name: `a"b\c`}})
	require.NoError(t, err)
	rec := serve(mw.Wrap(okHandler()), nil)
	assert.Equal(t, `"a\"b\\c";q=1;w=1`, rec.Header().Get("RateLimit-Policy"), "quotes and backslashes are escaped")
	assert.Regexp(t, sfItem, rec.Header().Get("RateLimit-Policy"))
}

func TestMiddlewarePolicyWindowInWholeSeconds(t *testing.T) {
	tests := []struct {
		limit  int
		period time.Duration
		want   string
	}{
		{100, time.Minute, `"default";q=100;w=60`},
		{10, 100 * time.Millisecond, `"default";q=100;w=1`},
		{3, 1500 * time.Millisecond, `"default";q=4;w=2`},
		{5, 0, `"default";q=5;w=1`},
	}
	for _, tt := range tests {
		keyed, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: tt.limit, Period: tt.period})
		require.NoError(t, err)
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: keyed})
		require.NoError(t, err)
		rec := serve(mw.Wrap(okHandler()), nil)
		assert.Equal(t, tt.want, rec.Header().Get("RateLimit-Policy"), "%d per %s", tt.limit, tt.period)
		require.NoError(t, keyed.Close())
	}
}

// oldTaker is a user's Taker written before Policy was renamed Quota.
type oldTaker struct{ failingTaker }

func (oldTaker) Policy() ratelimit.Policy {
	return ratelimit.Policy{Name: "old", Quota: 2, Window: time.Minute}
}

// Policy is an alias of Quota, so code written against the old name still
// builds and still drives the middleware.
func TestPolicyIsTheOldNameOfQuota(t *testing.T) {
	var q ratelimit.Quota = oldTaker{}.Policy()
	assert.Equal(t, ratelimit.Quota{Name: "old", Quota: 2, Window: time.Minute}, q)
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: oldTaker{}})
	require.NoError(t, err)
	rec := serve(mw.Wrap(okHandler()), nil)
	assert.Equal(t, `"old";q=2;w=60`, rec.Header().Get("RateLimit-Policy"))
}
