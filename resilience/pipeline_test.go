package resilience_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

func TestNewRejectsBadPolicies(t *testing.T) {
	_, err := resilience.With()
	assert.EqualError(t, err, "resilience: Config.Policies is empty: a pipeline needs at least one policy")
	_, err = resilience.With(newRetry(t, retry.Config{}), nil)
	assert.EqualError(t, err, "resilience: Config.Policies[1]: is nil")
	_, err = resilience.With((*breaker.Breaker)(nil))
	assert.EqualError(t, err, "resilience: Config.Policies[0]: is a nil *breaker.Breaker")
}

// Every composition that defeats one of its own policies is refused, naming
// the two policies and the reason; the recommended order is accepted.
func TestOrderRules(t *testing.T) {
	fb := newFallback(t, fallback.Config[int]{Name: "fb"})
	rt := newRetry(t, retry.Config{Name: "rt"})
	br := newBreaker(t, breaker.Config{Name: "br"})
	hd := newHedge(t, hedge.Config{Name: "hd", Delay: time.Millisecond, Breaker: br})
	blindHedge := newHedge(t, hedge.Config{Name: "blind", Delay: time.Millisecond})
	otherBreaker := newBreaker(t, breaker.Config{Name: "other"})
	lim := newLimiter(t, ratelimit.Config{Name: "lim", Limit: 10})
	overall := newTimeout(t, "overall", 10*time.Second)
	attempt := newTimeout(t, "attempt", 2*time.Second)

	good := []resilience.Policy{fb, overall, rt, hd, lim, br, attempt}
	p, err := resilience.With(good...)
	require.NoError(t, err)
	assert.Equal(t, "fallback(fb) → timeout(overall, 10s) → retry(rt) → hedge(hd) → ratelimit(lim) → breaker(br) → timeout(attempt, 2s)", p.String())
	for _, ok := range [][]resilience.Policy{
		{rt, br},
		{overall, rt, br},
		{rt, attempt, br},          // per-attempt timeout outside the breaker is allowed
		{lim, rt, br},              // a limit on logical calls, outside the retry
		{rt, br, attempt, attempt}, // two nested timeouts with no retry between
		{fb},
	} {
		_, err := resilience.With(ok...)
		assert.NoError(t, err)
	}

	for _, tc := range []struct {
		policies     []resilience.Policy
		outer, inner int
		rule         string
	}{
		{[]resilience.Policy{rt, fb}, 0, 1, "a fallback inside a retry"},
		{[]resilience.Policy{br, fb}, 0, 1, "a fallback inside a breaker"},
		{[]resilience.Policy{hd, fb}, 0, 1, "a fallback inside a hedge"},
		{[]resilience.Policy{overall, fb, rt}, 0, 1, "a fallback inside a timeout"},
		{[]resilience.Policy{lim, fb}, 0, 1, "a fallback inside a rate limit"},
		{[]resilience.Policy{br, rt}, 0, 1, "a retry inside a breaker"},
		// A hedge outside a breaker it does not watch sends hedges while the
		// breaker is open; the recommended order was accepted with such a
		// hedge, and the pipeline quietly lost "no hedge while the breaker
		// is not closed".
		{[]resilience.Policy{rt, blindHedge, br}, 1, 2, "the hedge does not watch this breaker"},
		{[]resilience.Policy{rt, hd, otherBreaker}, 1, 2, "the hedge does not watch this breaker"},
		{[]resilience.Policy{rt, br, rt}, 0, 2, "two retries"},
		{[]resilience.Policy{hd, rt}, 0, 1, "a retry inside a hedge"},
		{[]resilience.Policy{rt, hd, hd}, 1, 2, "two hedges"},
		{[]resilience.Policy{rt, br, hd}, 1, 2, "a hedge inside a breaker"},
		{[]resilience.Policy{rt, br, lim}, 1, 2, "a rate limit or bulkhead inside a breaker"},
		{[]resilience.Policy{attempt, rt, overall}, 0, 2, "the per-attempt timeout is not shorter"},
	} {
		_, err := resilience.With(tc.policies...)
		var oe *resilience.OrderError
		require.ErrorAs(t, err, &oe, "%v", tc.rule)
		assert.Equal(t, tc.outer, oe.Outer, tc.rule)
		assert.Equal(t, tc.inner, oe.Inner, tc.rule)
		assert.Contains(t, err.Error(), tc.rule)

		_, err = resilience.New(resilience.Config{Policies: tc.policies, AnyOrder: true})
		assert.NoError(t, err, "AnyOrder accepts %s", tc.rule)
	}
}

// The recommended pipeline, end to end: a hung attempt is cut by the
// per-attempt timeout and retried; the breaker counts it; the caller gets the
// answer and no policy's error.
func TestRecommendedPipelineRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{Name: "payments", ConsecutiveFailures: 5})
		p, err := resilience.With(
			newFallback(t, fallback.Config[string]{Value: "pending", When: fallback.On(breaker.ErrOpen, timeout.ErrExceeded)}),
			newTimeout(t, "overall", 5*time.Second),
			newRetry(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Delay: 100 * time.Millisecond}}),
			b,
			newTimeout(t, "attempt", time.Second),
		)
		require.NoError(t, err)
		attempts := 0
		start := time.Now()
		v, err := resilience.Do(context.Background(), p, func(ctx context.Context) (string, error) {
			attempts++
			if attempts == 1 {
				return "", sleep(ctx, time.Hour) // hangs
			}
			return "charged", nil
		})
		require.NoError(t, err)
		assert.Equal(t, "charged", v)
		assert.Equal(t, 2, attempts)
		assert.Equal(t, time.Second+100*time.Millisecond, time.Since(start))
	})
}

// When every attempt times out and the overall deadline ends the call, the
// fallback answers; errors.Is sees every cause on the way.
func TestErrorsCarryEveryCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{Name: "payments", ConsecutiveFailures: 2, OpenDuration: time.Minute})
		p, err := resilience.With(
			newRetry(t, retry.Config{MaxAttempts: 4, Backoff: retry.Constant{Delay: 10 * time.Millisecond}, MaxRetryAfter: 10 * time.Millisecond}),
			b,
			newTimeout(t, "attempt", 100*time.Millisecond),
		)
		require.NoError(t, err)
		_, err = resilience.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			return 0, sleep(ctx, time.Hour)
		})
		assert.ErrorIs(t, err, retry.ErrMaxAttempts)
		assert.ErrorIs(t, err, timeout.ErrExceeded, "the attempts' timeouts")
		assert.ErrorIs(t, err, breaker.ErrOpen, "the breaker's rejection once two timeouts opened it")
		var open *breaker.OpenError
		require.ErrorAs(t, err, &open)
		assert.Equal(t, "payments", open.Name)

		withFallback, err := resilience.With(newFallback(t, fallback.Config[int]{Value: -1, When: fallback.On(breaker.ErrOpen)}), p)
		require.NoError(t, err, "a pipeline is a policy too")
		v, err := resilience.Do(context.Background(), withFallback, func(ctx context.Context) (int, error) { return 1, nil })
		require.NoError(t, err)
		assert.Equal(t, -1, v, "the breaker is open: the fallback answered")
	})
}

// A hedge in a pipeline sends its attempts through the inner policies: each
// hedged attempt is one breaker call with its own timeout.
func TestHedgeInAPipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{Name: "search"})
		p, err := resilience.With(
			newRetry(t, retry.Config{MaxAttempts: 2, Backoff: retry.Constant{}}),
			newHedge(t, hedge.Config{Delay: 10 * time.Millisecond, Breaker: b}),
			b,
			newTimeout(t, "attempt", time.Second),
		)
		require.NoError(t, err)
		var n atomic.Int32
		start := time.Now()
		v, err := resilience.Do(context.Background(), p, func(ctx context.Context) (int32, error) {
			i := n.Add(1)
			if i == 1 {
				return 0, sleep(ctx, time.Hour)
			}
			return i, sleep(ctx, 2*time.Millisecond)
		})
		require.NoError(t, err)
		assert.Equal(t, int32(2), v)
		assert.Equal(t, 12*time.Millisecond, time.Since(start))
		synctest.Wait()
		assert.Equal(t, breaker.Closed, b.State(), "the cancelled loser is ignored by the breaker, not a failure")
	})
}

// A fallback for another type than the call's is refused without running
// anything; under the untyped Do, any fallback answers.
func TestFallbackTypeMismatch(t *testing.T) {
	p, err := resilience.With(newFallback(t, fallback.Config[string]{Value: "x"}), newRetry(t, retry.Config{MaxAttempts: 1}))
	require.NoError(t, err)
	called := false
	_, err = resilience.Do(context.Background(), p, func(context.Context) (int, error) { called = true; return 1, nil })
	assert.EqualError(t, err, "resilience: *fallback.Policy[string] answers another type than int, the type Do was called for")
	assert.False(t, called)

	err = p.Do(context.Background(), func(context.Context) error { called = true; return errBoom })
	assert.NoError(t, err, "the fallback answered; its value is dropped")
	assert.True(t, called)
}

// A policy of the caller's own takes part through its Do.
type countingPolicy struct{ calls int }

func (c *countingPolicy) Do(ctx context.Context, fn func(context.Context) error) error {
	c.calls++
	return fn(ctx)
}

func TestCustomPolicy(t *testing.T) {
	c := &countingPolicy{}
	p, err := resilience.With(newRetry(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}}), c)
	require.NoError(t, err)
	n := 0
	v, err := resilience.Do(context.Background(), p, func(context.Context) (string, error) {
		n++
		if n < 3 {
			return "", errBoom
		}
		return "ok", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "ok", v)
	assert.Equal(t, 3, c.calls)
	assert.Contains(t, p.String(), "*resilience_test.countingPolicy")
}

// A limiter's refusal is its own error, seen through the retry.
func TestLimiterInAPipeline(t *testing.T) {
	lim := newLimiter(t, ratelimit.Config{Name: "outbound", Limit: 1, Period: time.Hour})
	p, err := resilience.With(newRetry(t, retry.Config{MaxAttempts: 2, Backoff: retry.Constant{}}), lim, newBreaker(t, breaker.Config{}))
	require.NoError(t, err)
	require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
	err = p.Do(context.Background(), func(context.Context) error { return nil })
	assert.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.True(t, errors.Is(err, retry.ErrMaxAttempts))
}

// An adaptive limiter (ratelimit/adaptive) is a limit to the pipeline: it
// runs calls through its own Do, is named in String, and the rule that keeps
// a limit outside the breaker applies to it (it was once taken for a custom
// policy, so its refusals could open the breaker unnoticed).
func TestAdaptiveLimiterIsALimit(t *testing.T) {
	rt := newRetry(t, retry.Config{Name: "rt"})
	br := newBreaker(t, breaker.Config{Name: "br"})
	al, err := adaptive.New(adaptive.Config{Name: "backend"})
	require.NoError(t, err)

	p, err := resilience.With(rt, al, br)
	require.NoError(t, err)
	assert.Equal(t, "retry(rt) → adaptive → breaker(br)", p.String())
	got, err := resilience.Do(context.Background(), p, func(context.Context) (int, error) {
		assert.Equal(t, 1, al.InFlight(), "the call holds a permit of the adaptive limiter")
		return 7, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 7, got)
	assert.Equal(t, 0, al.InFlight())

	_, err = resilience.With(rt, br, al)
	var oe *resilience.OrderError
	require.ErrorAs(t, err, &oe)
	assert.Contains(t, err.Error(), "a rate limit or bulkhead inside a breaker")
}
