package resilience_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
)

// client returns an http.Client whose transport runs a retry (3 attempts,
// no wait) around a breaker, plus any extra policies between them.
func client(t *testing.T, b *breaker.Breaker, extra ...resilience.Policy) *http.Client {
	t.Helper()
	policies := append([]resilience.Policy{newRetry(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}, MaxRetryAfter: time.Millisecond})}, extra...)
	p, err := resilience.With(append(policies, b)...)
	require.NoError(t, err)
	tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p})
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func paymentsBreaker(t *testing.T) *breaker.Breaker {
	return newBreaker(t, breaker.Config{Name: "payments", ConsecutiveFailures: 3, Classifier: resilience.BreakerClassifier})
}

func postCharge(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/charges", strings.NewReader(`{"amount":1200}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	return req
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// The charge is made but its answer is lost; the transport retries with the
// same key it generated, the server replays the stored answer, and the
// customer is charged once.
func TestLostAnswerIsRetriedWithTheSameKey(t *testing.T) {
	s, srv := newStripeLike(t)
	s.fault = func(n int64) fault {
		if n == 1 {
			return dropAfter
		}
		return serve
	}
	req := postCharge(t, srv.URL)
	resp, err := client(t, paymentsBreaker(t)).Do(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, `{"id":"ch_1","params":{"amount":1200}}`, readAll(t, resp))
	assert.Equal(t, int64(1), s.charges.Load(), "charged once")

	keys := s.seenKeys()
	require.Len(t, keys, 2)
	assert.Len(t, keys[0], 22, "128 random bits, base64url")
	assert.Equal(t, keys[0], keys[1], "the retry carried the same key")
	_, _, err = idempotency.ParseKey(keys[:1])
	assert.NoError(t, err, "a valid Idempotency-Key")
	assert.Empty(t, req.Header.Get("Idempotency-Key"), "the caller's request is not modified")

	// A new logical request gets a new key.
	resp, err = client(t, paymentsBreaker(t)).Do(postCharge(t, srv.URL))
	require.NoError(t, err)
	readAll(t, resp)
	assert.NotEqual(t, keys[0], s.seenKeys()[2])
}

// A 503 is retried; the last failure, when retries run out, is the caller's
// response (not an error), with its body.
func TestRetryableStatus(t *testing.T) {
	s, srv := newStripeLike(t)
	s.fault = func(n int64) fault {
		if n == 1 {
			return unavailable
		}
		return serve
	}
	c := client(t, paymentsBreaker(t))
	resp, err := c.Do(postCharge(t, srv.URL))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	readAll(t, resp)
	assert.Equal(t, int64(2), s.requests.Load())
	assert.Equal(t, int64(1), s.charges.Load())

	s.fault = func(int64) fault { return unavailable }
	resp, err = c.Do(postCharge(t, srv.URL))
	require.NoError(t, err, "a failure status is an answer for the caller")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "try again\n", readAll(t, resp))
	assert.Equal(t, int64(5), s.requests.Load(), "3 attempts")
}

// A 500 is a failure another attempt will not fix: not retried, counted by
// the breaker, returned as the response.
func TestFailedStatusIsNotRetried(t *testing.T) {
	s, srv := newStripeLike(t)
	s.fault = func(int64) fault { return internal }
	b := newBreaker(t, breaker.Config{Name: "payments", ConsecutiveFailures: 2, OpenDuration: time.Minute})
	c := client(t, b)
	resp, err := c.Do(postCharge(t, srv.URL))
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	readAll(t, resp)
	assert.Equal(t, int64(1), s.requests.Load())

	resp, err = c.Do(postCharge(t, srv.URL))
	require.NoError(t, err)
	readAll(t, resp)
	assert.Equal(t, breaker.Open, b.State(), "two 500s are two failures")

	_, err = c.Do(postCharge(t, srv.URL))
	assert.ErrorIs(t, err, breaker.ErrOpen, "an open breaker is an error: there is no response")
	assert.Equal(t, int64(2), s.requests.Load(), "and no request")
}

// The caller's key is kept; a key in the context is used, and a derived one
// is exactly idempotency.DerivedKey's; an invalid one stops the request.
func TestKeySources(t *testing.T) {
	s, srv := newStripeLike(t)
	c := client(t, paymentsBreaker(t))

	req := postCharge(t, srv.URL)
	req.Header.Set("Idempotency-Key", "order-42")
	resp, err := c.Do(req)
	require.NoError(t, err)
	readAll(t, resp)

	ctx := resilience.WithDerivedKey(context.Background(), "POST /v1/orders", "client-key-1", "payment")
	resp, err = c.Do(postCharge(t, srv.URL).WithContext(ctx))
	require.NoError(t, err)
	readAll(t, resp)

	ctx = resilience.WithIdempotencyKey(context.Background(), "spaces are not allowed")
	_, err = c.Do(postCharge(t, srv.URL).WithContext(ctx))
	assert.ErrorIs(t, err, idempotency.ErrInvalidKey)

	assert.Equal(t, []string{"order-42", idempotency.DerivedKey("POST /v1/orders", "client-key-1", "payment")}, s.seenKeys())
}

// Without keys, a POST is sent once: a server that ignores the header could
// act twice.
func TestUnkeyedPostIsNotRepeated(t *testing.T) {
	s, srv := newStripeLike(t)
	s.fault = func(int64) fault { return unavailable }
	p, err := resilience.With(newRetry(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}}), paymentsBreaker(t))
	require.NoError(t, err)
	tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p, NoKeys: true})
	require.NoError(t, err)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(postCharge(t, srv.URL))
	require.NoError(t, err)
	readAll(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, int64(1), s.requests.Load())
	assert.Equal(t, []string{""}, s.seenKeys())
}

// oneShot is a body that cannot be sent twice (http.NewRequest sets no
// GetBody for it).
type oneShot struct{ io.Reader }

// A body that cannot be replayed is sent once, even with a key.
func TestUnreplayableBodyIsNotRepeated(t *testing.T) {
	s, srv := newStripeLike(t)
	s.fault = func(int64) fault { return unavailable }
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/charges", oneShot{strings.NewReader(`{}`)})
	require.NoError(t, err)
	require.Nil(t, req.GetBody)
	resp, err := client(t, paymentsBreaker(t)).Do(req)
	require.NoError(t, err)
	readAll(t, resp)
	assert.Equal(t, int64(1), s.requests.Load())
}

// A GET is idempotent by method: retried, and given no key.
func TestIdempotentMethodIsRetriedWithoutKey(t *testing.T) {
	s, srv := newStripeLike(t)
	s.fault = func(n int64) fault {
		if n == 1 {
			return unavailable
		}
		return serve
	}
	resp, err := client(t, paymentsBreaker(t)).Get(srv.URL + "/charges/ch_1")
	require.NoError(t, err)
	assert.Equal(t, `{"request":2}`, readAll(t, resp))
	assert.Equal(t, []string{"", ""}, s.seenKeys())
}

// A hedged GET: the first request stalls, the hedge answers, and the
// stalled request is cancelled on the server too.
func TestHedgedGet(t *testing.T) {
	s, srv := newStripeLike(t)
	cancelled := make(chan struct{})
	s.hold = func(n int64, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // stalls until the client gives up on it
			close(cancelled)
		}
	}
	b := paymentsBreaker(t)
	c := client(t, b, newHedge(t, hedge.Config{Delay: 5 * time.Millisecond, Breaker: b}))
	resp, err := c.Get(srv.URL + "/charges/ch_1")
	require.NoError(t, err)
	assert.Equal(t, `{"request":2}`, readAll(t, resp))
	<-cancelled
	assert.Equal(t, breaker.Closed, b.State())
}

// A hedged POST carries the first attempt's key. When the first attempt
// reached the server, the hedge gets 409 (same key in progress): the breaker
// ignores it, the call waits for the first attempt, and the customer is
// charged once.
func TestHedgedPostIsChargedOnce(t *testing.T) {
	s, srv := newStripeLike(t)
	conflictSeen := make(chan struct{})
	var firstHeld atomic.Bool
	s.hold = func(n int64, r *http.Request) {
		if n == 1 {
			firstHeld.Store(true)
			select { // the first attempt finishes only after the hedge got its 409
			case <-conflictSeen:
			case <-r.Context().Done(): // the hedge won: the test fails below
			}
		}
	}
	b := newBreaker(t, breaker.Config{Name: "payments", ConsecutiveFailures: 1, Classifier: resilience.BreakerClassifier})
	p, err := resilience.With(newHedge(t, hedge.Config{Delay: 5 * time.Millisecond, Breaker: b}), b)
	require.NoError(t, err)
	observe := &observer{base: http.DefaultTransport, onResponse: func(resp *http.Response) {
		if resp.StatusCode == http.StatusConflict {
			close(conflictSeen)
		}
	}}
	tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p, Base: observe})
	require.NoError(t, err)
	defer tr.CloseIdleConnections()

	resp, err := (&http.Client{Transport: tr}).Do(postCharge(t, srv.URL))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `{"id":"ch_1","params":{"amount":1200}}`, readAll(t, resp))
	assert.True(t, firstHeld.Load())
	assert.Equal(t, int64(1), s.charges.Load())
	keys := s.seenKeys()
	require.Len(t, keys, 2)
	assert.Equal(t, keys[0], keys[1])
	assert.Equal(t, breaker.Closed, b.State(), "the 409 was not counted as a failure")
}

// observer calls onResponse for every response of base.
type observer struct {
	base       http.RoundTripper
	onResponse func(*http.Response)
}

func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(r)
	if err == nil {
		o.onResponse(resp)
	}
	return resp, err
}

func TestNewTransportRequiresAPipeline(t *testing.T) {
	_, err := resilience.NewTransport(resilience.TransportConfig{})
	assert.EqualError(t, err, "resilience: TransportConfig.Pipeline is required")
}

// A typed nil base transport is refused at construction; it used to be
// accepted and to panic on the first request.
func TestNewTransportRefusesATypedNilBase(t *testing.T) {
	p, err := resilience.With(paymentsBreaker(t))
	require.NoError(t, err)
	var base *http.Transport
	tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p, Base: base})
	assert.EqualError(t, err, "resilience: TransportConfig.Base is a nil *http.Transport")
	assert.Nil(t, tr)
}

// The caller gives up while the retry waits to repeat a 503: RoundTrip
// returns the context's error, not the 503 whose body the retry had already
// drained and closed before its wait (which it returned, with a nil error,
// as if it were the server's readable answer).
func TestCallerGoneDuringRetryWaitIsAnError(t *testing.T) {
	s, srv := newStripeLike(t)
	s.fault = func(int64) fault { return unavailable }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := resilience.With(newRetry(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Delay: time.Hour},
		OnRetry: func(int, error, time.Duration) { cancel() }}), paymentsBreaker(t))
	require.NoError(t, err)
	tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p})
	require.NoError(t, err)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(postCharge(t, srv.URL).WithContext(ctx))
	if resp != nil {
		_, readErr := io.ReadAll(resp.Body)
		assert.NoError(t, readErr, "a response returned to the caller must be readable")
		_ = resp.Body.Close()
	}
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, resp)
	assert.Equal(t, int64(1), s.requests.Load())
}

// An overall timeout around the retry: when the retries run out on 503s, the
// last 503 is the caller's response and its body can be read (the timeout
// used to cancel its context when the call returned with an error). The body
// is larger than the connection's buffers, so that it is still being read
// from the network, under the attempt's context, when the caller reads it.
func TestLastStatusReadableThroughATimeout(t *testing.T) {
	big := strings.Repeat("try again later. ", 64<<10)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, big)
	}))
	defer srv.Close()
	p, err := resilience.With(newTimeout(t, "overall", time.Minute),
		newRetry(t, retry.Config{MaxAttempts: 2, Backoff: retry.Constant{}, MaxRetryAfter: time.Millisecond}), paymentsBreaker(t))
	require.NoError(t, err)
	tr, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: p})
	require.NoError(t, err)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, len(big), len(readAll(t, resp)))
	assert.Equal(t, int64(2), requests.Load())
}
