package hedge_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/hedge"
)

var errBoom = errors.New("boom")

func mustNew(t *testing.T, cfg hedge.Config) *hedge.Policy {
	t.Helper()
	p, err := hedge.New(cfg)
	require.NoError(t, err)
	return p
}

// sleep waits for d or until ctx ends, as a well-behaved call does.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// step is what one attempt of a scripted backend does.
type step struct {
	latency time.Duration
	err     error
}

// backend answers its attempts by script, in the order they start, and
// records when each started and whether its context was cancelled.
type backend struct {
	mu        sync.Mutex
	script    []step
	started   []time.Duration
	cancelled []bool
	t0        time.Time
}

func newBackend(script ...step) *backend { return &backend{script: script, t0: time.Now()} }

func (b *backend) call(ctx context.Context) (string, error) {
	b.mu.Lock()
	i := len(b.started)
	b.started = append(b.started, time.Since(b.t0))
	b.cancelled = append(b.cancelled, false)
	s := b.script[i%len(b.script)]
	b.mu.Unlock()
	if err := sleep(ctx, s.latency); err != nil {
		b.mu.Lock()
		b.cancelled[i] = true
		b.mu.Unlock()
		return "", err
	}
	if s.err != nil {
		return "", s.err
	}
	return "answer from attempt " + string(rune('0'+i)), nil
}

func (b *backend) starts() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Duration(nil), b.started...)
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		cfg  hedge.Config
		want string
	}{
		{hedge.Config{}, "Config.Delay must be > 0 when Percentile is not set"},
		{hedge.Config{Delay: -1}, "Config.Delay must be >= 0"},
		{hedge.Config{Delay: 1, Percentile: 1}, "Config.Percentile must be in (0,1)"},
		{hedge.Config{Delay: 1, Percentile: -0.5}, "Config.Percentile must be in (0,1)"},
		{hedge.Config{Percentile: 0.9, Window: 1 << 20}, "Config.Window must be in [1,65536]"},
		{hedge.Config{Percentile: 0.9, Window: 10, MinSamples: 11}, "Config.MinSamples (11) must be <= Window (10)"},
		{hedge.Config{Delay: 1, MaxHedges: 17}, "Config.MaxHedges must be in [1,16]"},
		{hedge.Config{Delay: 1, MaxHedges: -1}, "Config.MaxHedges must be in [1,16]"},
		{hedge.Config{Delay: 1, Breaker: (*fakeHealth)(nil)}, "Config.Breaker is a nil *hedge_test.fakeHealth"},
		{hedge.Config{Delay: 1, Budget: (*fakeBudget)(nil)}, "Config.Budget is a nil *hedge_test.fakeBudget"},
	} {
		_, err := hedge.New(tc.cfg)
		require.Error(t, err, "%+v", tc.cfg)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// A call faster than the delay is never hedged.
func TestFastCallIsNotHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		be := newBackend(step{latency: 9 * time.Millisecond})
		start := time.Now()
		v, err := hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Equal(t, "answer from attempt 0", v)
		assert.Equal(t, 9*time.Millisecond, time.Since(start))
		assert.Len(t, be.starts(), 1)
	})
}

// A slow first attempt gets a hedge exactly one delay after the call began;
// the hedge answers first, the call returns its answer at once, and the
// first attempt is cancelled.
func TestHedgeWinsAndTheLoserIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		be := newBackend(step{latency: time.Second}, step{latency: 3 * time.Millisecond})
		start := time.Now()
		v, err := hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Equal(t, "answer from attempt 1", v)
		assert.Equal(t, 13*time.Millisecond, time.Since(start), "the delay, then the hedge's own latency")
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond}, be.starts())
		synctest.Wait() // the loser's goroutine sees its cancellation
		be.mu.Lock()
		assert.Equal(t, []bool{true, false}, be.cancelled)
		be.mu.Unlock()
	})
}

// Hedges go out one delay apart, never more than MaxHedges, and the first
// success among all attempts wins, whichever it is.
func TestAtMostMaxHedges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, MaxHedges: 2})
		be := newBackend(step{latency: 100 * time.Millisecond}, step{latency: 200 * time.Millisecond}, step{latency: 200 * time.Millisecond})
		start := time.Now()
		v, err := hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Equal(t, "answer from attempt 0", v, "the first attempt was still the first to succeed")
		assert.Equal(t, 100*time.Millisecond, time.Since(start))
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond}, be.starts(), "two hedges, no third")
	})
}

// A first attempt that fails before the delay fails the call: no hedge is
// sent for a failure (that is a retry's job), and the error is returned as
// it is.
func TestEarlyFailureIsNotHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, MaxHedges: 3})
		be := newBackend(step{latency: 2 * time.Millisecond, err: errBoom})
		start := time.Now()
		_, err := hedge.Do(context.Background(), p, be.call)
		assert.Same(t, errBoom, err)
		assert.Equal(t, 2*time.Millisecond, time.Since(start))
		assert.Len(t, be.starts(), 1)
	})
}

// An attempt that fails while another is running does not end the call; when
// every attempt has failed, the error keeps them all.
func TestFailureWaitsForTheOtherAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Name: "search", Delay: 10 * time.Millisecond})
		errSlow := errors.New("slow failure")
		be := newBackend(step{latency: 15 * time.Millisecond, err: errSlow}, step{latency: 20 * time.Millisecond})
		v, err := hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Equal(t, "answer from attempt 1", v)

		be = newBackend(step{latency: 15 * time.Millisecond, err: errSlow}, step{latency: 20 * time.Millisecond, err: errBoom})
		start := time.Now()
		_, err = hedge.Do(context.Background(), p, be.call)
		assert.Equal(t, 30*time.Millisecond, time.Since(start))
		var he *hedge.Error
		require.ErrorAs(t, err, &he)
		assert.Equal(t, []error{errSlow, errBoom}, he.Errs)
		assert.ErrorIs(t, err, errSlow)
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, `hedge: "search": all 2 attempts failed: boom`, err.Error())
	})
}

// The caller's cancellation ends the call at once and cancels every attempt.
func TestCallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		be := newBackend(step{latency: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(25*time.Millisecond, cancel)
		start := time.Now()
		_, err := hedge.Do(ctx, p, be.call)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 25*time.Millisecond, time.Since(start))
		synctest.Wait()
		be.mu.Lock()
		assert.Equal(t, []bool{true, true}, be.cancelled)
		be.mu.Unlock()

		called := false
		_, err = hedge.Do(ctx, p, func(context.Context) (int, error) { called = true; return 1, nil })
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, called, "a done context runs nothing")
	})
}

// fakeHealth is a breaker whose health the test sets.
type fakeHealth struct{ healthy atomic.Bool }

func (h *fakeHealth) Healthy() bool { return h.healthy.Load() }

// fakeBudget grants a fixed number of hedges and counts deposits.
type fakeBudget struct {
	grants   atomic.Int64
	asked    atomic.Int64
	deposits atomic.Int64
}

func (b *fakeBudget) TryWithdraw() bool {
	b.asked.Add(1)
	return b.grants.Add(-1) >= 0
}

func (b *fakeBudget) Deposit() { b.deposits.Add(1) }

// No hedge is sent while the breaker is not healthy: a call that starts then
// is not hedged at all, and a hedge that falls due then is not sent.
func TestNoHedgeWhileTheBreakerIsNotHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		health := &fakeHealth{}
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, MaxHedges: 2, Breaker: health})
		be := newBackend(step{latency: 50 * time.Millisecond})
		_, err := hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Len(t, be.starts(), 1, "unhealthy at the start: not hedged")

		health.healthy.Store(true)
		time.AfterFunc(15*time.Millisecond, func() { health.healthy.Store(false) })
		be = newBackend(step{latency: 50 * time.Millisecond})
		_, err = hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond}, be.starts(), "the second hedge fell due while unhealthy")
	})
}

// Every hedge is paid for before it is sent; a refused one is not sent, and
// each successful call is credited.
func TestHedgesSpendTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget := &fakeBudget{}
		budget.grants.Store(1)
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, MaxHedges: 3, Budget: budget})
		be := newBackend(step{latency: 100 * time.Millisecond})
		_, err := hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond}, be.starts(), "one hedge granted, the next refused")
		assert.Equal(t, int64(2), budget.asked.Load(), "no hedge is asked for after a refusal")
		assert.Equal(t, int64(1), budget.deposits.Load())

		_, _ = hedge.Do(context.Background(), p, newBackend(step{latency: time.Millisecond, err: errBoom}).call)
		assert.Equal(t, int64(1), budget.deposits.Load(), "a failed call earns nothing")
	})
}

// A winning response can be read after Do returns: its attempt's context is
// released when the body is closed. Losing responses are closed.
func TestResponses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		var mu sync.Mutex
		var bodies []*ctxBody
		n := 0
		get := func(ctx context.Context) (*http.Response, error) {
			mu.Lock()
			i := n
			n++
			body := &ctxBody{ctx: ctx, r: strings.NewReader("payload")}
			bodies = append(bodies, body)
			mu.Unlock()
			if i == 0 {
				time.Sleep(30 * time.Millisecond) // ignores its context, answers late
			} else {
				time.Sleep(5 * time.Millisecond)
			}
			return &http.Response{StatusCode: 200, Body: body}, nil
		}
		resp, err := hedge.Do(context.Background(), p, get)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "the winner's context lives until its body is done")
		assert.Equal(t, "payload", string(b))
		require.NoError(t, resp.Body.Close())
		assert.ErrorIs(t, bodies[1].ctx.Err(), context.Canceled, "and is released then")
		time.Sleep(30 * time.Millisecond)
		synctest.Wait()
		mu.Lock()
		assert.True(t, bodies[0].isClosed(), "the late loser's response was closed")
		mu.Unlock()
	})
}

// ctxBody is a response body read under a context, as net/http's is.
type ctxBody struct {
	ctx    context.Context
	r      io.Reader
	closed atomic.Bool
}

func (b *ctxBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *ctxBody) Close() error   { b.closed.Store(true); return nil }
func (b *ctxBody) isClosed() bool { return b.closed.Load() }

// A panic in an attempt reaches the caller's goroutine, where it can be
// recovered (an HTTP server's recovery middleware, say).
func TestPanicReachesTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		n := atomic.Int32{}
		defer func() {
			assert.Equal(t, "attempt 1 broke", recover())
			synctest.Wait()
		}()
		_, _ = hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			if n.Add(1) == 2 {
				panic("attempt 1 broke")
			}
			return 0, sleep(ctx, time.Second)
		})
		t.Fatal("the panic did not reach the caller")
	})
}

// With a percentile, the delay is Delay until MinSamples latencies are known,
// then that percentile of the window.
func TestPercentileDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Percentile: 0.9, Window: 20, MinSamples: 10})
		_, ok := p.Delay()
		assert.False(t, ok, "no Delay and no samples: no hedging yet")
		for i := 1; i <= 10; i++ { // latencies 1ms … 10ms
			_, err := hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
				return i, sleep(ctx, time.Duration(i)*time.Millisecond)
			})
			require.NoError(t, err)
		}
		d, ok := p.Delay()
		require.True(t, ok)
		assert.Equal(t, 9*time.Millisecond, d, "the 90th percentile of 1..10 ms (nearest rank)")

		be := newBackend(step{latency: time.Second}, step{latency: time.Millisecond})
		start := time.Now()
		_, err := hedge.Do(context.Background(), p, be.call)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{0, 9 * time.Millisecond}, be.starts())
		assert.Equal(t, 10*time.Millisecond, time.Since(start))
	})
}

func TestUntypedDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		var n atomic.Int32
		err := p.Do(context.Background(), func(ctx context.Context) error {
			if n.Add(1) == 1 {
				return sleep(ctx, time.Second)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, int32(2), n.Load())
	})
}

// When every attempt fails, the last one's value is returned; a response
// among them (a 503 the caller may read as the server's answer) stays
// readable after Do returns, as a winner's does: its attempt's context was
// cancelled with the others', so its body could not be read.
func TestFailedResponseStaysReadable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		var n atomic.Int32
		get := func(ctx context.Context) (*http.Response, error) {
			i := n.Add(1)
			if i == 1 {
				time.Sleep(30 * time.Millisecond) // slow enough to be hedged
			}
			return &http.Response{StatusCode: 503, Body: &ctxBody{ctx: ctx, r: strings.NewReader("busy")}}, errBoom
		}
		resp, err := hedge.Do(context.Background(), p, get)
		require.ErrorIs(t, err, errBoom)
		require.Equal(t, int32(2), n.Load(), "hedged")
		require.NotNil(t, resp)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "the last failed response is readable")
		assert.Equal(t, "busy", string(b))
		require.NoError(t, resp.Body.Close())
	})
}

// A hedge that falls due at the instant the caller's context ends is neither
// paid for nor counted nor sent: the caller has gone. Both events are ready
// together in the bubble, so before the fix the select chose the timer about
// half the time and spent a token on a hedge nobody would wait for.
func TestNoHedgeOnceTheCallerIsGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget := &fakeBudget{}
		budget.grants.Store(1 << 20)
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, Budget: budget})
		for range 64 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			var calls atomic.Int32
			_, err := hedge.Do(ctx, p, func(ctx context.Context) (int, error) {
				calls.Add(1)
				return 0, sleep(ctx, time.Hour)
			})
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			synctest.Wait()
			assert.Equal(t, int32(1), calls.Load())
		}
		assert.Zero(t, budget.asked.Load(), "no hedge was paid for after the caller's deadline")
	})
}
