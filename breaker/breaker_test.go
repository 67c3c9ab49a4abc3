package breaker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
)

var errBoom = errors.New("boom")

func mustNew(t *testing.T, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(cfg)
	require.NoError(t, err)
	return b
}

func fail(context.Context) error    { return errBoom }
func succeed(context.Context) error { return nil }

func TestConsecutiveFailuresTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{Name: "db", ConsecutiveFailures: 3, OpenDuration: 10 * time.Second})
		ctx := context.Background()
		for range 2 {
			assert.ErrorIs(t, b.Do(ctx, fail), errBoom)
		}
		require.NoError(t, b.Do(ctx, succeed), "a success resets the count")
		for range 2 {
			assert.ErrorIs(t, b.Do(ctx, fail), errBoom)
		}
		assert.Equal(t, breaker.Closed, b.State())
		assert.ErrorIs(t, b.Do(ctx, fail), errBoom)
		assert.Equal(t, breaker.Open, b.State())

		called := false
		err := b.Do(ctx, func(context.Context) error { called = true; return nil })
		assert.False(t, called, "an open breaker does not call the function")
		require.ErrorIs(t, err, breaker.ErrOpen)
		var oe *breaker.OpenError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "db", oe.Name)
		assert.Equal(t, breaker.Open, oe.State)
		assert.Equal(t, time.Now().Add(10*time.Second), oe.RetryAt)
		assert.Equal(t, 10*time.Second, oe.RetryAfter())
		assert.Regexp(t, `^breaker: "db" is open until `, err.Error())
	})
}

func TestDefaultTripIsFiveConsecutiveFailures(t *testing.T) {
	b := mustNew(t, breaker.Config{})
	for range 4 {
		_ = b.Do(context.Background(), fail)
	}
	assert.Equal(t, breaker.Closed, b.State())
	_ = b.Do(context.Background(), fail)
	assert.Equal(t, breaker.Open, b.State())
}

func TestHalfOpenProbesCloseOrReopen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var opens []int
		b := mustNew(t, breaker.Config{
			ConsecutiveFailures: 1,
			HalfOpenProbes:      2,
			HalfOpenSuccesses:   3,
			BreakDuration:       func(n int) time.Duration { opens = append(opens, n); return time.Duration(n) * time.Second },
		})
		ctx := context.Background()
		_ = b.Do(ctx, fail)
		require.Equal(t, breaker.Open, b.State())

		time.Sleep(999 * time.Millisecond)
		assert.ErrorIs(t, b.Do(ctx, succeed), breaker.ErrOpen, "the break lasts BreakDuration(1) = 1s")
		time.Sleep(time.Millisecond)

		// Two probes may run at once; a third is rejected while they run.
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				assert.NoError(t, b.Do(ctx, func(context.Context) error { <-release; return nil }))
			})
		}
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State())
		err := b.Do(ctx, succeed)
		var oe *breaker.OpenError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, breaker.HalfOpen, oe.State)
		close(release)
		wg.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State(), "2 successes of the 3 needed")

		// A failed probe reopens, with a longer break.
		_ = b.Do(ctx, fail)
		assert.Equal(t, breaker.Open, b.State())
		time.Sleep(2 * time.Second)
		for range 3 {
			require.NoError(t, b.Do(ctx, succeed))
		}
		assert.Equal(t, breaker.Closed, b.State())

		// After closing, the open count starts again from 1.
		_ = b.Do(ctx, fail)
		assert.Equal(t, []int{1, 2, 1}, opens)
	})
}

func TestFailureRateOverCountWindow(t *testing.T) {
	b := mustNew(t, breaker.Config{FailureRate: 0.5, WindowSize: 10, MinimumCalls: 4})
	ctx := context.Background()
	_ = b.Do(ctx, fail)
	_ = b.Do(ctx, fail)
	_ = b.Do(ctx, fail)
	assert.Equal(t, breaker.Closed, b.State(), "3 calls: below MinimumCalls")

	b = mustNew(t, breaker.Config{FailureRate: 0.5, WindowSize: 4, MinimumCalls: 4})
	for range 8 { // the window only ever holds the last 4
		require.NoError(t, b.Do(ctx, succeed))
	}
	_ = b.Do(ctx, fail) // 1/4
	assert.Equal(t, breaker.Closed, b.State())
	require.NoError(t, b.Do(ctx, succeed)) // 1/4
	_ = b.Do(ctx, fail)                    // 2/4: trips
	assert.Equal(t, breaker.Open, b.State())
}

func TestFailureRateOverTimeWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{FailureRate: 0.5, WindowDuration: 10 * time.Second, MinimumCalls: 4})
		ctx := context.Background()
		for range 3 {
			_ = b.Do(ctx, fail)
		}
		time.Sleep(11 * time.Second) // those failures leave the window
		for range 3 {
			require.NoError(t, b.Do(ctx, succeed))
		}
		_ = b.Do(ctx, fail) // 1 failure of 4 in the window
		assert.Equal(t, breaker.Closed, b.State())
		time.Sleep(5 * time.Second)
		_ = b.Do(ctx, fail) // 2 of 5
		assert.Equal(t, breaker.Closed, b.State())
		_ = b.Do(ctx, fail) // 3 of 6
		assert.Equal(t, breaker.Open, b.State())
	})
}

func TestSlowCallRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{SlowCallRate: 0.5, SlowCallDuration: time.Second, WindowSize: 4, MinimumCalls: 4,
			OpenDuration: time.Minute})
		ctx := context.Background()
		slow := func(context.Context) error { time.Sleep(2 * time.Second); return nil }
		require.NoError(t, b.Do(ctx, succeed))
		require.NoError(t, b.Do(ctx, slow))
		require.NoError(t, b.Do(ctx, succeed))
		assert.Equal(t, breaker.Closed, b.State())
		require.NoError(t, b.Do(ctx, slow)) // 2 slow of 4
		assert.Equal(t, breaker.Open, b.State())

		// In half-open, a slow probe counts as a failed one.
		time.Sleep(time.Minute)
		require.NoError(t, b.Do(ctx, slow))
		assert.Equal(t, breaker.Open, b.State())
	})
}

func TestClassifier(t *testing.T) {
	ctx := context.Background()
	canceled := func(context.Context) error { return context.Canceled }
	b := mustNew(t, breaker.Config{ConsecutiveFailures: 2})
	for range 10 {
		_ = b.Do(ctx, canceled)
	}
	assert.Equal(t, breaker.Closed, b.State(), "a cancelled context is ignored by default")

	errNotFound := errors.New("not found")
	b = mustNew(t, breaker.Config{ConsecutiveFailures: 2, Classifier: func(err error) breaker.Outcome {
		if errors.Is(err, errNotFound) {
			return breaker.Success
		}
		return breaker.DefaultClassifier(err)
	}})
	for range 5 {
		_ = b.Do(ctx, func(context.Context) error { return errNotFound })
	}
	assert.Equal(t, breaker.Closed, b.State())
	_ = b.Do(ctx, func(context.Context) error { return context.DeadlineExceeded })
	_ = b.Do(ctx, func(context.Context) error { return context.DeadlineExceeded })
	assert.Equal(t, breaker.Open, b.State(), "a deadline is a failure")
}

func TestOutcomesFromAnEarlierGenerationAreNotCounted(t *testing.T) {
	for _, cfg := range []breaker.Config{
		{ConsecutiveFailures: 2},                                 // lock-free path
		{ConsecutiveFailures: 2, FailureRate: 1, WindowSize: 50}, // windowed path
	} {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, cfg)
			ctx := context.Background()
			release := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() { _ = b.Do(ctx, func(context.Context) error { <-release; return errBoom }) })
			synctest.Wait()
			b.Open()
			b.Reset() // a new generation
			_ = b.Do(ctx, fail)
			close(release) // the old call fails now: not counted
			wg.Wait()
			assert.Equal(t, breaker.Closed, b.State())
			_ = b.Do(ctx, fail)
			assert.Equal(t, breaker.Open, b.State())
		})
	}
}

func TestManualStates(t *testing.T) {
	b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
	ctx := context.Background()

	b.Open()
	assert.Equal(t, breaker.ForcedOpen, b.State())
	err := b.Do(ctx, succeed)
	var oe *breaker.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, breaker.ForcedOpen, oe.State)
	assert.True(t, oe.RetryAt.IsZero())
	assert.Zero(t, oe.RetryAfter())
	assert.Equal(t, `breaker: "default" is forced open`, err.Error())

	b.Disable()
	for range 5 {
		assert.ErrorIs(t, b.Do(ctx, fail), errBoom)
	}
	assert.Equal(t, breaker.Disabled, b.State(), "a disabled breaker counts nothing")

	b.Reset()
	assert.Equal(t, breaker.Closed, b.State())
	_ = b.Do(ctx, fail)
	assert.Equal(t, breaker.Open, b.State())
	b.Reset()
	assert.Equal(t, breaker.Closed, b.State())

	// The deprecated Close is still Reset, for callers that have not moved.
	b.Open()
	b.Close()
	assert.Equal(t, breaker.Closed, b.State())
}

func TestListenersRunInOrderOutsideTheLock(t *testing.T) {
	var (
		b       *breaker.Breaker
		changes []string
	)
	record := func(c breaker.StateChange) {
		changes = append(changes, c.From.String()+">"+c.To.String())
		_ = b.State() // calling the breaker from a listener must not deadlock
		if c.To == breaker.Open {
			b.Open() // nor changing its state: delivered after this change, in order
		}
	}
	second := func(c breaker.StateChange) { changes = append(changes, "second:"+c.To.String()) }
	b = mustNew(t, breaker.Config{Name: "x", ConsecutiveFailures: 1, OnStateChange: []func(breaker.StateChange){record, second}})
	_ = b.Do(context.Background(), fail)
	assert.Equal(t, []string{"closed>open", "second:open", "open>forced-open", "second:forced-open"}, changes)
	assert.Equal(t, breaker.ForcedOpen, b.State())
}

func TestPanickingListenerDoesNotStopDelivery(t *testing.T) {
	var seen []breaker.State
	b := mustNew(t, breaker.Config{OnStateChange: []func(breaker.StateChange){func(c breaker.StateChange) {
		seen = append(seen, c.To)
		if c.To == breaker.ForcedOpen {
			panic("listener bug")
		}
	}}})
	assert.Panics(t, b.Open)
	b.Reset()
	assert.Equal(t, []breaker.State{breaker.ForcedOpen, breaker.Closed}, seen)
}

func TestAllowTwoStep(t *testing.T) {
	b := mustNew(t, breaker.Config{ConsecutiveFailures: 2})
	done, err := b.Allow()
	require.NoError(t, err)
	done(errBoom)
	done(errBoom) // a second call does nothing
	assert.Equal(t, breaker.Closed, b.State())
	done, err = b.Allow()
	require.NoError(t, err)
	done(errBoom)
	assert.Equal(t, breaker.Open, b.State())
	done, err = b.Allow()
	assert.Nil(t, done)
	assert.ErrorIs(t, err, breaker.ErrOpen)
}

func TestPanicCountsAsFailure(t *testing.T) {
	b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
	assert.PanicsWithValue(t, "bug", func() {
		_ = b.Do(context.Background(), func(context.Context) error { panic("bug") })
	})
	assert.Equal(t, breaker.Open, b.State())

	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, HalfOpenProbes: 1, OpenDuration: time.Second})
		_ = b.Do(context.Background(), fail)
		time.Sleep(time.Second)
		assert.Panics(t, func() {
			_, _ = breaker.Do(context.Background(), b, func(context.Context) (int, error) { panic("bug") })
		})
		assert.Equal(t, breaker.Open, b.State(), "a panicking probe frees its slot and reopens the breaker")
		time.Sleep(time.Second)
		require.NoError(t, b.Do(context.Background(), succeed))
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestGenericDoAndDoneContext(t *testing.T) {
	b := mustNew(t, breaker.Config{})
	v, err := breaker.Do(context.Background(), b, func(context.Context) (string, error) { return "ok", nil })
	require.NoError(t, err)
	assert.Equal(t, "ok", v)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err = b.Do(ctx, func(context.Context) error { called = true; return nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called)
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		cfg   breaker.Config
		field string
	}{
		{breaker.Config{ConsecutiveFailures: -1}, "Config.ConsecutiveFailures"},
		{breaker.Config{ConsecutiveFailures: 1 << 25}, "Config.ConsecutiveFailures"},
		{breaker.Config{FailureRate: 1.5}, "Config.FailureRate"},
		{breaker.Config{FailureRate: -0.1}, "Config.FailureRate"},
		{breaker.Config{SlowCallRate: 2}, "Config.SlowCallRate"},
		{breaker.Config{SlowCallRate: 0.5}, "Config.SlowCallDuration"},
		{breaker.Config{WindowSize: -1}, "Config.WindowSize"},
		{breaker.Config{WindowDuration: time.Millisecond}, "Config.WindowDuration"},
		{breaker.Config{FailureRate: 0.5, WindowSize: 5, MinimumCalls: 6}, "Config.MinimumCalls"},
		{breaker.Config{OpenDuration: -time.Second}, "Config.OpenDuration"},
		{breaker.Config{HalfOpenProbes: -1}, "Config.HalfOpenProbes"},
		{breaker.Config{HalfOpenSuccesses: -1}, "Config.HalfOpenSuccesses"},
		{breaker.Config{OnStateChange: []func(breaker.StateChange){nil}}, "Config.OnStateChange[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := breaker.New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.field)
			assert.Regexp(t, "^breaker: ", err.Error())
		})
	}
}

func TestHealthy(t *testing.T) {
	b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Minute})
	assert.True(t, b.Healthy(), "closed")
	_ = b.Do(context.Background(), func(context.Context) error { return errBoom })
	require.Equal(t, breaker.Open, b.State())
	assert.False(t, b.Healthy(), "open")
	b.Disable()
	assert.True(t, b.Healthy(), "disabled: every call goes through")
	b.Open()
	assert.False(t, b.Healthy(), "forced open")
	b.Reset()
	assert.True(t, b.Healthy())
}
