// Package idempotencytest is the conformance suite for idempotency.Store
// implementations. Every store in this module passes it; run it on your own:
//
//	func TestMyStore(t *testing.T) {
//		idempotencytest.RunStoreTests(t, func(t *testing.T) idempotency.Store {
//			return mystore.New(freshDatabase(t))
//		})
//	}
//
// newStore is called once per subtest and must return a store with no
// records (a fresh namespace). Subtests run in parallel. Lease and retention
// expiry are judged by the store's own clock, which the suite cannot
// control, so the expiry subtests wait in real time (leases of a few hundred
// milliseconds; about a second in all).
package idempotencytest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/idempotency"
)

// Durations used by the suite: long enough that no subtest expires a lease
// by accident on a loaded machine, short enough for the expiry subtests.
const (
	longLease = time.Minute
	longTTL   = time.Hour
	// shortLease is used where the suite waits for expiry.
	shortLease = 300 * time.Millisecond
	// expiryMargin covers the store's timestamp granularity and the
	// distance between the test's clock and the store's.
	expiryMargin = 200 * time.Millisecond
)

// ConcurrentRequests is how many goroutines race for one key in the
// concurrency subtest.
const ConcurrentRequests = 100

// RunStoreTests runs the conformance suite against the stores newStore makes.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) idempotency.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s idempotency.Store)
	}{
		{"ProceedThenReplay", testProceedThenReplay},
		{"EmptyOutcome", testEmptyOutcome},
		{"OmittedBody", testOmittedBody},
		{"InProgress", testInProgress},
		{"Mismatch", testMismatch},
		{"ScopesAndKeysAreDistinct", testScopesAndKeysAreDistinct},
		{"LongKeyAndScope", testLongKeyAndScope},
		{"WrongTokenChangesNothing", testWrongToken},
		{"CompleteTwice", testCompleteTwice},
		{"ReleaseLetsRetryRun", testRelease},
		{"StoredOutcomeIsACopy", testOutcomeIsACopy},
		{"ConcurrentReserveExactlyOnce", testConcurrent},
		{"ConcurrentHTTPRequestsExactlyOnce", testConcurrentHTTP},
		{"ExpiredLeaseIsTakenOver", testLeaseTakeover},
		{"ExpiredLeaseCannotComplete", testExpiredLeaseCannotComplete},
		{"ExpiredRecordIsForgotten", testRecordExpiry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

var tokenSeq struct {
	sync.Mutex
	n int
}

// request returns a ReserveRequest with a fresh token.
func request(scope, key, fingerprint string, lease, ttl time.Duration) idempotency.ReserveRequest {
	tokenSeq.Lock()
	tokenSeq.n++
	n := tokenSeq.n
	tokenSeq.Unlock()
	return idempotency.ReserveRequest{
		Scope:       scope,
		Key:         key,
		Fingerprint: []byte(fingerprint),
		Token:       fmt.Sprintf("token-%d-%d", time.Now().UnixNano(), n),
		Lease:       lease,
		TTL:         ttl,
	}
}

func leaseOf(req idempotency.ReserveRequest) idempotency.Lease {
	return idempotency.Lease{Scope: req.Scope, Key: req.Key, Token: req.Token}
}

func reserve(t *testing.T, s idempotency.Store, req idempotency.ReserveRequest) idempotency.Reservation {
	t.Helper()
	res, err := s.Reserve(context.Background(), req)
	require.NoError(t, err)
	return res
}

func mustProceed(t *testing.T, s idempotency.Store, req idempotency.ReserveRequest) idempotency.Lease {
	t.Helper()
	res := reserve(t, s, req)
	require.Equal(t, idempotency.Proceed, res.Decision, "first reservation of a fresh key")
	return leaseOf(req)
}

func sampleOutcome() idempotency.Outcome {
	return idempotency.Outcome{
		Status: http.StatusCreated,
		Header: http.Header{
			"Location":     {"/orders/42"},
			"Content-Type": {"application/json"},
			"Link":         {"</a>; rel=a", "</b>; rel=b"},
		},
		Body: []byte(`{"id":42,"bytes":"\u0000\u00ff"}` + "\x00\xff"),
	}
}

func assertSameOutcome(t *testing.T, want, got idempotency.Outcome) {
	t.Helper()
	assert.Equal(t, want.Status, got.Status, "status")
	assert.Equal(t, want.BodyOmitted, got.BodyOmitted, "body omitted")
	assert.Equal(t, len(want.Body), len(got.Body), "body length")
	if len(want.Body) > 0 {
		assert.Equal(t, want.Body, got.Body, "body")
	}
	assert.Equal(t, len(want.Header), len(got.Header), "header count")
	for name, vs := range want.Header {
		assert.Equal(t, vs, got.Header[name], "header %s", name)
	}
}

func testProceedThenReplay(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	lease := mustProceed(t, s, request("tenant-a POST /orders", "k1", "fp", longLease, longTTL))
	want := sampleOutcome()
	require.NoError(t, s.Complete(ctx, lease, want))

	for range 2 {
		res := reserve(t, s, request("tenant-a POST /orders", "k1", "fp", longLease, longTTL))
		require.Equal(t, idempotency.Replay, res.Decision)
		assertSameOutcome(t, want, res.Outcome)
	}
}

func testEmptyOutcome(t *testing.T, s idempotency.Store) {
	lease := mustProceed(t, s, request("s", "k", "", longLease, longTTL))
	require.NoError(t, s.Complete(context.Background(), lease, idempotency.Outcome{Status: http.StatusNoContent}))
	res := reserve(t, s, request("s", "k", "", longLease, longTTL))
	require.Equal(t, idempotency.Replay, res.Decision)
	assertSameOutcome(t, idempotency.Outcome{Status: http.StatusNoContent}, res.Outcome)
}

func testOmittedBody(t *testing.T, s idempotency.Store) {
	lease := mustProceed(t, s, request("s", "k", "fp", longLease, longTTL))
	want := idempotency.Outcome{Status: http.StatusOK, Header: http.Header{"Etag": {`"v1"`}}, BodyOmitted: true}
	require.NoError(t, s.Complete(context.Background(), lease, want))
	res := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	require.Equal(t, idempotency.Replay, res.Decision)
	assertSameOutcome(t, want, res.Outcome)
}

func testInProgress(t *testing.T, s idempotency.Store) {
	mustProceed(t, s, request("s", "k", "fp", longLease, longTTL))
	res := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	require.Equal(t, idempotency.InProgress, res.Decision)
	assert.Greater(t, res.RetryAfter, time.Duration(0), "RetryAfter while the lease is live")
	assert.LessOrEqual(t, res.RetryAfter, longLease, "RetryAfter is at most the lease")
}

func testMismatch(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	lease := mustProceed(t, s, request("s", "k", "fp-1", longLease, longTTL))
	res := reserve(t, s, request("s", "k", "fp-2", longLease, longTTL))
	require.Equal(t, idempotency.Mismatch, res.Decision, "while pending")

	require.NoError(t, s.Complete(ctx, lease, sampleOutcome()))
	res = reserve(t, s, request("s", "k", "fp-2", longLease, longTTL))
	require.Equal(t, idempotency.Mismatch, res.Decision, "once completed")
	res = reserve(t, s, request("s", "k", "", longLease, longTTL))
	require.Equal(t, idempotency.Mismatch, res.Decision, "empty fingerprint against a set one")
}

func testScopesAndKeysAreDistinct(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	// Pairs that a careless store could confuse: case, a shared prefix, a
	// separator moved between scope and key, non-ASCII scope.
	pairs := [][2]string{
		{"tenant-a POST /orders", "key"},
		{"tenant-b POST /orders", "key"},
		{"tenant-a POST /orders", "KEY"},
		{"tenant-a POST /orders", "key "},
		{"tenant-a POST /orders:", "ey"},
		{"tenant-a POST /orders:k", "ey"},
		{"Tenant-A POST /orders", "key"},
		{"tenant-ü POST /orders", "key"},
		{"", "key"},
	}
	for i, p := range pairs {
		lease := mustProceed(t, s, request(p[0], p[1], "fp", longLease, longTTL))
		require.NoError(t, s.Complete(ctx, lease, idempotency.Outcome{Status: 200 + i}))
	}
	for i, p := range pairs {
		res := reserve(t, s, request(p[0], p[1], "fp", longLease, longTTL))
		require.Equal(t, idempotency.Replay, res.Decision, "scope %q key %q", p[0], p[1])
		assert.Equal(t, 200+i, res.Outcome.Status, "scope %q key %q got another pair's outcome", p[0], p[1])
	}
}

func testLongKeyAndScope(t *testing.T, s idempotency.Store) {
	key := strings.Repeat("k", idempotency.MaxKeyLength-2) + `"\`
	scope := strings.Repeat("s", idempotency.MaxScopeLength)
	fp := strings.Repeat("\xff", idempotency.MaxFingerprintLength)
	lease := mustProceed(t, s, request(scope, key, fp, longLease, longTTL))
	require.NoError(t, s.Complete(context.Background(), lease, sampleOutcome()))
	res := reserve(t, s, request(scope, key, fp, longLease, longTTL))
	require.Equal(t, idempotency.Replay, res.Decision)
	res = reserve(t, s, request(scope, key[:len(key)-1], fp, longLease, longTTL))
	require.Equal(t, idempotency.Proceed, res.Decision, "a key that is a prefix of another is a different key")
}

func testWrongToken(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	lease := mustProceed(t, s, request("s", "k", "fp", longLease, longTTL))
	wrong := lease
	wrong.Token = "someone-else"
	require.ErrorIs(t, s.Complete(ctx, wrong, sampleOutcome()), idempotency.ErrLeaseLost)
	require.ErrorIs(t, s.Release(ctx, wrong), idempotency.ErrLeaseLost)
	unknown := idempotency.Lease{Scope: "s", Key: "never-reserved", Token: lease.Token}
	require.ErrorIs(t, s.Complete(ctx, unknown, sampleOutcome()), idempotency.ErrLeaseLost)

	res := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	require.Equal(t, idempotency.InProgress, res.Decision, "the true holder still holds the key")
	require.NoError(t, s.Complete(ctx, lease, sampleOutcome()))
}

func testCompleteTwice(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	lease := mustProceed(t, s, request("s", "k", "fp", longLease, longTTL))
	first := sampleOutcome()
	require.NoError(t, s.Complete(ctx, lease, first))
	require.ErrorIs(t, s.Complete(ctx, lease, idempotency.Outcome{Status: 500}), idempotency.ErrLeaseLost)
	require.ErrorIs(t, s.Release(ctx, lease), idempotency.ErrLeaseLost, "a completed record cannot be released")
	res := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	require.Equal(t, idempotency.Replay, res.Decision)
	assertSameOutcome(t, first, res.Outcome)
}

func testRelease(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	lease := mustProceed(t, s, request("s", "k", "fp-1", longLease, longTTL))
	require.NoError(t, s.Release(ctx, lease))
	require.ErrorIs(t, s.Release(ctx, lease), idempotency.ErrLeaseLost, "second release")
	require.ErrorIs(t, s.Complete(ctx, lease, sampleOutcome()), idempotency.ErrLeaseLost, "complete after release")

	// A released key is free, even for another fingerprint.
	again := mustProceed(t, s, request("s", "k", "fp-2", longLease, longTTL))
	require.NoError(t, s.Complete(ctx, again, sampleOutcome()))
}

func testOutcomeIsACopy(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	lease := mustProceed(t, s, request("s", "k", "fp", longLease, longTTL))
	out := sampleOutcome()
	require.NoError(t, s.Complete(ctx, lease, out))
	out.Body[0] = 'X'
	out.Header.Set("Location", "/elsewhere")

	first := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	require.Equal(t, idempotency.Replay, first.Decision)
	assertSameOutcome(t, sampleOutcome(), first.Outcome)
	first.Outcome.Body[0] = 'Y'
	first.Outcome.Header.Set("Location", "/mutated")

	second := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	assertSameOutcome(t, sampleOutcome(), second.Outcome)
}

// testConcurrent races ConcurrentRequests reservations of one key (standing
// for as many instances): the side effect must run exactly once and every
// other request must see InProgress or the replay.
func testConcurrent(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	var (
		start       = make(chan struct{})
		wg          sync.WaitGroup
		mu          sync.Mutex
		sideEffects int
		decisions   = map[idempotency.Decision]int{}
		errs        []error
	)
	want := sampleOutcome()
	for range ConcurrentRequests {
		wg.Go(func() {
			req := request("tenant POST /orders", "same-key", "fp", longLease, longTTL)
			<-start
			res, err := s.Reserve(ctx, req)
			if err == nil && res.Decision == idempotency.Proceed {
				mu.Lock()
				sideEffects++
				mu.Unlock()
				err = s.Complete(ctx, leaseOf(req), want)
			}
			if err == nil && res.Decision == idempotency.Replay && res.Outcome.Status != want.Status {
				err = fmt.Errorf("replayed status %d, want %d", res.Outcome.Status, want.Status)
			}
			mu.Lock()
			decisions[res.Decision]++
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	assert.Equal(t, 1, sideEffects, "side effect runs exactly once")
	assert.Equal(t, 1, decisions[idempotency.Proceed], "exactly one proceed")
	assert.Equal(t, ConcurrentRequests-1, decisions[idempotency.InProgress]+decisions[idempotency.Replay],
		"every other request sees in-progress or the replay: %v", decisions)
	res := reserve(t, s, request("tenant POST /orders", "same-key", "fp", longLease, longTTL))
	require.Equal(t, idempotency.Replay, res.Decision)
	assertSameOutcome(t, want, res.Outcome)
}

// testConcurrentHTTP sends ConcurrentRequests requests with one key through
// the net/http middleware at once; the handler's side effect runs exactly
// once and every other request gets 409 or the replay.
func testConcurrentHTTP(t *testing.T, s idempotency.Store) {
	m, err := idempotency.New(idempotency.Config{Store: s})
	require.NoError(t, err)
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true})
	require.NoError(t, err)
	var runs atomic.Int64
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "order 1")
	}))
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		seen  = map[string]int{}
	)
	for range ConcurrentRequests {
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"sku":"a"}`))
			r.Header.Set(idempotency.HeaderName, "same")
			w := httptest.NewRecorder()
			<-start
			h.ServeHTTP(w, r)
			outcome := fmt.Sprint(w.Code, " replayed=", w.Header().Get(idempotency.ReplayedHeader))
			mu.Lock()
			seen[outcome]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(1), runs.Load(), "side effect exactly once")
	assert.Equal(t, 1, seen["201 replayed="], "one request ran: %v", seen)
	assert.Equal(t, ConcurrentRequests-1, seen["409 replayed="]+seen["201 replayed=true"],
		"the rest got 409 or the replay: %v", seen)
}

// testLeaseTakeover: a stalled first holder whose lease expired cannot
// overwrite the result of the holder that took over.
func testLeaseTakeover(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	stalled := mustProceed(t, s, request("s", "k", "fp", shortLease, longTTL))
	time.Sleep(shortLease + expiryMargin)

	second := mustProceed(t, s, request("s", "k", "fp", longLease, longTTL))
	require.ErrorIs(t, s.Complete(ctx, stalled, idempotency.Outcome{Status: 299}), idempotency.ErrLeaseLost)
	require.ErrorIs(t, s.Release(ctx, stalled), idempotency.ErrLeaseLost)
	want := sampleOutcome()
	require.NoError(t, s.Complete(ctx, second, want))
	require.ErrorIs(t, s.Complete(ctx, stalled, idempotency.Outcome{Status: 299}), idempotency.ErrLeaseLost)

	res := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	require.Equal(t, idempotency.Replay, res.Decision)
	assertSameOutcome(t, want, res.Outcome)
}

// testExpiredLeaseCannotComplete: with nobody taking over, an expired lease
// still cannot complete: the key was free, so the result cannot be trusted
// to be the only one.
func testExpiredLeaseCannotComplete(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	lease := mustProceed(t, s, request("s", "k", "fp", shortLease, longTTL))
	time.Sleep(shortLease + expiryMargin)
	require.ErrorIs(t, s.Complete(ctx, lease, sampleOutcome()), idempotency.ErrLeaseLost)
	res := reserve(t, s, request("s", "k", "other-fp", longLease, longTTL))
	require.Equal(t, idempotency.Proceed, res.Decision, "an expired pending record frees its key")
}

func testRecordExpiry(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	const ttl = time.Second
	start := time.Now()
	// The lease lasts as long as the record: a machine stalled between
	// reserving and completing (a loaded CI host took over 100 ms) loses
	// neither before the test can tell.
	lease := mustProceed(t, s, request("s", "k", "fp", ttl, ttl))
	err := s.Complete(ctx, lease, sampleOutcome())
	// On a machine stalled for most of the TTL, the lease may have ended or
	// the record be gone before it can be read back: then nothing can be
	// concluded.
	if elapsed := time.Since(start); elapsed > ttl-expiryMargin {
		t.Skipf("the store took %s to reserve and complete; too close to the %s TTL to test expiry", elapsed, ttl)
	}
	require.NoError(t, err)
	res := reserve(t, s, request("s", "k", "fp", longLease, longTTL))
	require.Equal(t, idempotency.Replay, res.Decision, "before the TTL")
	time.Sleep(ttl + expiryMargin - time.Since(start))
	res = reserve(t, s, request("s", "k", "another-fp", longLease, longTTL))
	require.Equal(t, idempotency.Proceed, res.Decision, "after the TTL the key is new again")
}
