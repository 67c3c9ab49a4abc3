package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertProblem checks one problem answer against the API's single style:
// problem+json, type https://keel.dev/problems/<code>, a title, the status
// repeated, no-store, nosniff and a Content-Length that is the body's.
func assertProblem(t *testing.T, r response, status int, code, what string) {
	t.Helper()
	require.Equal(t, status, r.Status, "%s: %s", what, r.Body)
	assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), what)
	assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"), what)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"), what)
	assert.Equal(t, strconv.Itoa(len(r.Body)), r.Header.Get("Content-Length"), what)
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &p), "%s: %s", what, r.Body)
	assert.Equal(t, "https://keel.dev/problems/"+code, p.Type, what)
	assert.Equal(t, code, p.Code, what)
	assert.Equal(t, status, p.Status, what)
	assert.Equal(t, http.StatusText(status), p.Title, what)
}

// TestEveryProblemHasOneStyle provokes each problem the example answers —
// its own, the idempotency middleware's and the three rate limiters' —
// through the real binary.
func TestEveryProblemHasOneStyle(t *testing.T) {
	t.Parallel()
	in := start(t, t.TempDir(), sqliteBackend)
	cust := in.createCustomer("problems@example.com", "+1 555 0100 31")
	order := func(key string, qty int) response {
		return in.call("POST", "/v1/orders", salesKey, orderBody(cust, qty), "Idempotency-Key", key)
	}
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`

	assertProblem(t, in.call("POST", "/v1/customers", salesKey, `{"name":"x","bogus":1}`), 400, "malformed_request", "unknown member")
	assertProblem(t, in.call("POST", "/v1/customers", salesKey, map[string]string{"name": "x"}), 422, "invalid_fields", "invalid fields")
	assertProblem(t, in.call("POST", "/v1/customers", salesKey, big), 413, "body_too_large", "body over 1 MiB")
	assertProblem(t, in.call("GET", "/v1/nope", salesKey, nil), 404, "not_found", "no such route")
	assertProblem(t, in.call("GET", "/v1/customers/cus_missing", salesKey, nil), 404, "not_found", "no such customer")
	assertProblem(t, in.call("GET", "/v1/audit", salesKey, nil), 403, "forbidden", "role")
	assertProblem(t, in.call("GET", "/v1/customers/"+cust, "wrong-key-0123456789", nil), 401, "unauthorized", "bad key")

	// The idempotency middleware's refusals.
	assertProblem(t, in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1)), 400, "idempotency_key_missing", "no key")
	assertProblem(t, in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", `""`), 400, "idempotency_key_invalid", "empty key")
	assertProblem(t, in.call("POST", "/v1/orders", salesKey, big, "Idempotency-Key", newKey(t)), 413, "idempotency_request_too_large", "order body over 1 MiB")
	key := newKey(t)
	require.Equal(t, http.StatusCreated, order(key, 1).Status)
	assertProblem(t, order(key, 2), 422, "idempotency_key_mismatch", "same key, other body")
	assertProblem(t, in.call("DELETE", "/v1/customers/"+cust, adminKey, nil), 409, "customer_has_orders", "customer with orders")

	// In progress: a slow gateway holds the first request while the second arrives.
	in.chaos(`{"latency_ms": 1500}`)
	key = newKey(t)
	var wg sync.WaitGroup
	answers := make([]response, 2)
	for i := range answers {
		wg.Go(func() {
			r, err := tryCall(in, "POST", "/v1/orders", orderBody(cust, 3), key)
			assert.NoError(t, err)
			answers[i] = r
		})
	}
	wg.Wait()
	conflict := answers[0]
	if conflict.Status != http.StatusConflict {
		conflict = answers[1]
	}
	assertProblem(t, conflict, 409, "idempotency_in_progress", "concurrent duplicate")

	// The gateway down: 502 while retries fail, then 503 once the breaker opens.
	in.chaos(`{"latency_ms": 0, "down": true}`)
	seen := map[int]response{}
	for range 30 {
		r := order(newKey(t), 1)
		seen[r.Status] = r
		if r.Status == http.StatusServiceUnavailable {
			break
		}
	}
	assertProblem(t, seen[502], 502, "payment_failed", "gateway failing")
	assertProblem(t, seen[503], 503, "payment_unavailable", "breaker open")
	in.chaos(`{"down": false}`)
}

// TestRateLimitProblemsHaveTheAPIsStyle exhausts the per-key, the
// failed-authentication and the per-client-IP limits of an instance with a
// small limit (60 a minute: burst 10 per key, 40 per IP, 20 failed
// authentications).
func TestRateLimitProblemsHaveTheAPIsStyle(t *testing.T) {
	t.Parallel()
	in := start(t, t.TempDir(), sqliteBackend, "-rate-limit", "60")
	until429 := func(key, what, policy string, n int) response {
		t.Helper()
		for range n {
			r := in.call("GET", "/v1/customers/cus_missing", key, nil)
			if r.Status == http.StatusTooManyRequests && strings.Contains(string(r.Body), policy) {
				return r
			}
		}
		t.Fatalf("%s: no 429 naming %q in %d requests", what, policy, n)
		return response{}
	}
	// The burst is max(limit/10, 10): 10 here, so the first request leaves 9.
	first := in.call("GET", "/v1/customers/cus_missing", salesKey, nil)
	assert.Contains(t, first.Header.Get("RateLimit"), `"api_key";r=9;`, "burst max(60/10, 10) = 10")
	assertProblem(t, until429(salesKey, "per key", `"violated-policies":["api_key"]`, 15), 429, "rate_limited", "per key")
	assertProblem(t, until429("wrong-key-0123456789", "failed authentications", "API key from this address", 25), 429, "rate_limited", "failed authentications")
	// The sales key is over its limit; its requests still count against the address.
	assertProblem(t, until429(salesKey, "per client IP", `"violated-policies":["client_ip"]`, 60), 429, "rate_limited", "per client IP")
}
