package resilience_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
)

// A Keel client talking to a Keel server: the server's idempotency
// middleware (RequireKey) stores the first answer; the answer is lost on the
// way back; the client's retry carries the same key and gets the replay. The
// handler ran once.
func TestKeelClientAgainstKeelServer(t *testing.T) {
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	require.NoError(t, err)
	// One client: the principal an authentication layer would have set.
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, RequireKey: true,
		Principal: func(*http.Request) string { return "client-1" }})
	require.NoError(t, err)
	var executions atomic.Int64
	api := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"order":%d,"body":%s}`, executions.Add(1), body)
	}))
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			api.ServeHTTP(httptest.NewRecorder(), r) // the order is made and recorded…
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close() // …and its answer is lost
			}
			return
		}
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()

	c := client(t, paymentsBreaker(t))
	resp, err := c.Post(srv.URL+"/v1/orders", "application/json", strings.NewReader(`{"sku":"A"}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "true", resp.Header.Get(idempotency.ReplayedHeader))
	assert.Equal(t, `{"order":1,"body":{"sku":"A"}}`, readAll(t, resp))
	assert.Equal(t, int64(1), executions.Load(), "one order")
	assert.Equal(t, int64(2), requests.Load())
}

// roundTripFunc is an in-memory server, for timing rules under synctest.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func respond(r *http.Request, status int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: header, Body: io.NopCloser(strings.NewReader(body)), Request: r}
}

// A Retryable response's Retry-After sets the wait before the next attempt;
// the dropped response's body is closed.
func TestRetryAfterIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		var firstBody *trackedBody
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				resp := respond(r, http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}, "slow down")
				firstBody = &trackedBody{ReadCloser: resp.Body}
				resp.Body = firstBody
				return resp, nil
			}
			return respond(r, http.StatusOK, nil, "ok"), nil
		})
		p, err := resilience.With(newRetry(t, retry.Config{MaxAttempts: 2, Backoff: retry.Constant{Delay: 10 * time.Millisecond}}),
			paymentsBreaker(t))
		require.NoError(t, err)
		tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p, Base: base})
		require.NoError(t, err)
		start := time.Now()
		resp, err := (&http.Client{Transport: tr}).Get("http://api.test/prices")
		require.NoError(t, err)
		assert.Equal(t, "ok", readAll(t, resp))
		assert.Equal(t, 2*time.Second, time.Since(start), "Retry-After: 2 is a floor for the 10ms backoff")
		assert.True(t, firstBody.closed.Load(), "the dropped 429 was closed")
	})
}

type trackedBody struct {
	io.ReadCloser
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return b.ReadCloser.Close() }

// The request body a RoundTripper is given is closed in every case, as the
// http.RoundTripper contract requires: when it was replayed from GetBody,
// and when the breaker refused the request before it was sent.
func TestRequestBodyIsClosed(t *testing.T) {
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		return respond(r, http.StatusOK, nil, "ok"), nil
	})
	b := paymentsBreaker(t)
	p, err := resilience.With(newRetry(t, retry.Config{MaxAttempts: 1}), b)
	require.NoError(t, err)
	tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p, Base: base})
	require.NoError(t, err)
	for _, open := range []bool{false, true} {
		if open {
			b.Open()
		}
		for _, replayable := range []bool{true, false} {
			body := &trackedBody{ReadCloser: io.NopCloser(strings.NewReader("{}"))}
			req, err := http.NewRequest(http.MethodPost, "http://api.test/orders", body)
			require.NoError(t, err)
			if replayable {
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("{}")), nil }
			}
			resp, err := tr.RoundTrip(req)
			if err == nil {
				readAll(t, resp)
			}
			assert.True(t, body.closed.Load(), "breaker open %v, replayable %v", open, replayable)
		}
	}
}
