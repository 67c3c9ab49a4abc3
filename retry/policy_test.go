package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/retry"
)

var errBoom = errors.New("boom")

func mustNew(t *testing.T, cfg retry.Config) *retry.Policy {
	t.Helper()
	p, err := retry.New(cfg)
	require.NoError(t, err)
	return p
}

func TestFirstAttemptSuccess(t *testing.T) {
	p := mustNew(t, retry.Config{})
	calls := 0
	require.NoError(t, p.Do(context.Background(), func(context.Context) error { calls++; return nil }))
	assert.Equal(t, 1, calls)
}

func TestRetriesUntilSuccessWithDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type retried struct {
			attempt int
			err     error
			delay   time.Duration
		}
		var seen []retried
		p := mustNew(t, retry.Config{
			MaxAttempts: 5,
			Backoff:     retry.Exponential{Initial: time.Second, Max: 3 * time.Second, Multiplier: 2},
			OnRetry:     func(a int, err error, d time.Duration) { seen = append(seen, retried{a, err, d}) },
		})
		start := time.Now()
		calls := 0
		got, err := retry.Do(context.Background(), p, func(context.Context) (string, error) {
			calls++
			if calls < 4 {
				return "", fmt.Errorf("attempt %d: %w", calls, errBoom)
			}
			return "ok", nil
		})
		require.NoError(t, err)
		assert.Equal(t, "ok", got)
		assert.Equal(t, 4, calls)
		// 1s, 2s, then 3s (capped by Max): the attempt numbers start at 1.
		require.Len(t, seen, 3)
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
			assert.Equal(t, i+1, seen[i].attempt)
			assert.Equal(t, want, seen[i].delay)
			assert.ErrorIs(t, seen[i].err, errBoom)
		}
		assert.Equal(t, 6*time.Second, time.Since(start))
	})
}

func TestMaxAttemptsKeepsEveryCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Delay: time.Second}})
		causes := []error{errors.New("first"), errors.New("second"), errors.New("third")}
		calls := 0
		err := p.Do(context.Background(), func(context.Context) error { calls++; return causes[calls-1] })
		require.Error(t, err)
		assert.Equal(t, 3, calls)
		for _, c := range causes {
			assert.ErrorIs(t, err, c)
		}
		assert.ErrorIs(t, err, retry.ErrMaxAttempts)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 3, re.Attempts)
		assert.Len(t, re.Errs, 3)
		assert.Equal(t, causes[2], re.Last())
		assert.Equal(t, "retry: gave up after 3 attempts (max attempts reached): third", err.Error())
	})
}

func TestPermanentStopsAtOnce(t *testing.T) {
	p := mustNew(t, retry.Config{MaxAttempts: 5})
	calls := 0
	err := p.Do(context.Background(), func(context.Context) error { calls++; return retry.Permanent(errBoom) })
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, errBoom)
	assert.ErrorIs(t, err, retry.ErrNotRetryable)
	assert.True(t, retry.IsPermanent(err))
	assert.Nil(t, retry.Permanent(nil))
}

func TestPermanentWinsOverClassifier(t *testing.T) {
	p := mustNew(t, retry.Config{MaxAttempts: 5, Classifier: func(any, error) retry.Decision {
		return retry.Decision{Verdict: retry.Retry}
	}})
	calls := 0
	err := p.Do(context.Background(), func(context.Context) error { calls++; return retry.Permanent(errBoom) })
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, errBoom)
}

func TestContextCancelInterruptsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := mustNew(t, retry.Config{MaxAttempts: 10, Backoff: retry.Constant{Delay: time.Hour}})
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		start := time.Now()
		calls := 0
		err := p.Do(ctx, func(context.Context) error { calls++; return errBoom })
		assert.Equal(t, time.Second, time.Since(start), "the wait must end when the context is cancelled")
		assert.Equal(t, 1, calls)
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, errBoom)
	})
}

func TestContextErrorsAreNeverRetried(t *testing.T) {
	tests := []struct {
		name       string
		classifier retry.Classifier
	}{
		{"default", nil},
		{"classifier says retry", func(any, error) retry.Decision { return retry.Decision{Verdict: retry.Retry} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			p := mustNew(t, retry.Config{MaxAttempts: 5, Classifier: tt.classifier, Backoff: retry.Constant{}})
			calls := 0
			err := p.Do(ctx, func(ctx context.Context) error {
				calls++
				cancel()
				return ctx.Err()
			})
			assert.Equal(t, 1, calls)
			assert.ErrorIs(t, err, context.Canceled)
		})
	}
}

func TestContextDoneBeforeFirstAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := mustNew(t, retry.Config{})
	calls := 0
	err := p.Do(ctx, func(context.Context) error { calls++; return nil })
	assert.Equal(t, 0, calls)
	assert.ErrorIs(t, err, context.Canceled)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 0, re.Attempts)
}

func TestMaxElapsedCountsFromFirstAttemptStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each attempt takes 2s and the delay is 1s: attempts start at 0s, 3s, 6s.
		// With a 7s budget a fourth attempt (at 9s) would start too late.
		p := mustNew(t, retry.Config{MaxAttempts: 100, MaxElapsedTime: 7 * time.Second, Backoff: retry.Constant{Delay: time.Second}})
		var starts []time.Duration
		begin := time.Now()
		err := p.Do(context.Background(), func(context.Context) error {
			starts = append(starts, time.Since(begin))
			time.Sleep(2 * time.Second)
			return errBoom
		})
		assert.ErrorIs(t, err, retry.ErrMaxElapsed)
		assert.Equal(t, []time.Duration{0, 3 * time.Second, 6 * time.Second}, starts)
		assert.Equal(t, 8*time.Second, time.Since(begin), "no sleep past the limit")
	})
}

func TestAttemptTimeoutIsRetriedButCallerDeadlineIsNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, retry.Config{MaxAttempts: 3, AttemptTimeout: time.Second, Backoff: retry.Constant{}})
		calls := 0
		err := p.Do(context.Background(), func(ctx context.Context) error {
			calls++
			if calls < 3 {
				<-ctx.Done() // a hung attempt
				return ctx.Err()
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, 3, calls)

		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		calls = 0
		start := time.Now()
		err = p.Do(ctx, func(ctx context.Context) error {
			calls++
			<-ctx.Done()
			return ctx.Err()
		})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 2, calls, "the second attempt ends with the caller's deadline and is not retried")
		assert.Equal(t, 1500*time.Millisecond, time.Since(start))
	})
}

func TestClassifierOnResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Retry while the result is negative; stop (as failure) on a specific error.
		errFatal := errors.New("fatal")
		classifier := func(result any, err error) retry.Decision {
			if errors.Is(err, errFatal) {
				return retry.Decision{Verdict: retry.Stop}
			}
			if n, ok := result.(int); ok && n < 0 {
				return retry.Decision{Verdict: retry.Retry, After: 5 * time.Second}
			}
			return retry.Decision{}
		}
		p := mustNew(t, retry.Config{MaxAttempts: 3, Classifier: classifier, Backoff: retry.Constant{Delay: time.Second}})
		start := time.Now()
		calls := 0
		n, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
			calls++
			if calls == 1 {
				return -1, nil
			}
			return 7, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 7, n)
		assert.Equal(t, 5*time.Second, time.Since(start), "After is a floor for the delay")

		n, err = retry.Do(context.Background(), p, func(context.Context) (int, error) { return -1, nil })
		assert.Equal(t, -1, n, "the last result is returned with the error")
		assert.ErrorIs(t, err, retry.ErrRetryableResult)
		assert.ErrorIs(t, err, retry.ErrMaxAttempts)

		calls = 0
		_, err = retry.Do(context.Background(), p, func(context.Context) (int, error) { calls++; return 0, errFatal })
		assert.Equal(t, 1, calls)
		assert.ErrorIs(t, err, errFatal)
		assert.ErrorIs(t, err, retry.ErrNotRetryable)
	})
}

type hintError struct{ after time.Duration }

func (e hintError) Error() string             { return "busy" }
func (e hintError) RetryAfter() time.Duration { return e.after }

func TestErrorRetryAfterIsAFloorCappedByMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delays []time.Duration
		p := mustNew(t, retry.Config{
			MaxAttempts:   3,
			Backoff:       retry.Constant{Delay: time.Second},
			MaxRetryAfter: 10 * time.Second,
			OnRetry:       func(_ int, _ error, d time.Duration) { delays = append(delays, d) },
		})
		calls := 0
		err := p.Do(context.Background(), func(context.Context) error {
			calls++
			if calls == 1 {
				return hintError{after: 4 * time.Second}
			}
			if calls == 2 {
				return hintError{after: time.Hour}
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{4 * time.Second, 10 * time.Second}, delays)
	})
}

func TestMaxElapsedStopsRatherThanHonourALongRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, retry.Config{MaxAttempts: 3, MaxElapsedTime: 5 * time.Second, Backoff: retry.Constant{}})
		start := time.Now()
		err := p.Do(context.Background(), func(context.Context) error { return hintError{after: 30 * time.Second} })
		assert.ErrorIs(t, err, retry.ErrMaxElapsed)
		assert.Equal(t, time.Duration(0), time.Since(start))
	})
}

func TestPolicyIsSafeToShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, retry.Config{MaxAttempts: 3, Backoff: retry.Exponential{Initial: time.Second, Jitter: 0.5}})
		done := make(chan int, 50)
		for g := 0; g < 50; g++ {
			go func() {
				calls := 0
				_ = p.Do(context.Background(), func(context.Context) error {
					calls++
					if calls < 3 {
						return errBoom
					}
					return nil
				})
				done <- calls
			}()
		}
		for g := 0; g < 50; g++ {
			assert.Equal(t, 3, <-done)
		}
	})
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		cfg   retry.Config
		field string
	}{
		{retry.Config{MaxAttempts: -1}, "Config.MaxAttempts"},
		{retry.Config{MaxElapsedTime: -time.Second}, "Config.MaxElapsedTime"},
		{retry.Config{AttemptTimeout: -time.Second}, "Config.AttemptTimeout"},
		{retry.Config{MaxRetryAfter: -time.Second}, "Config.MaxRetryAfter"},
		{retry.Config{Backoff: retry.Exponential{Initial: -1}}, "Config.Backoff.Initial"},
		{retry.Config{Backoff: retry.Exponential{Multiplier: 0.5}}, "Config.Backoff.Multiplier"},
		{retry.Config{Backoff: retry.Exponential{Initial: time.Second, Max: time.Millisecond}}, "Config.Backoff.Max"},
		{retry.Config{Backoff: retry.Exponential{Jitter: 1.5}}, "Config.Backoff.Jitter"},
		{retry.Config{Backoff: retry.Constant{Delay: -1}}, "Config.Backoff.Delay"},
		{retry.Config{Backoff: retry.Constant{Jitter: -0.1}}, "Config.Backoff.Jitter"},
		{retry.Config{Backoff: retry.DecorrelatedJitter{Base: time.Second, Max: time.Millisecond}}, "Config.Backoff.Max"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := retry.New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.field)
			assert.Regexp(t, "^retry: ", err.Error())
		})
	}
}

// A wait that ends at the instant of the caller's deadline starts no attempt:
// the deadline has come, though the context's own timer may not have ended
// it yet when the wait's timer is seen (before the fix, every one of these
// calls made a second attempt at its deadline).
func TestNoAttemptAtTheCallersDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Delay: 100 * time.Millisecond}})
		for range 64 {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			calls := 0
			err := p.Do(ctx, func(context.Context) error { calls++; return errBoom })
			cancel()
			assert.Equal(t, 1, calls)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.ErrorIs(t, err, errBoom)
		}
	})
}
