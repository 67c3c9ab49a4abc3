package timeout_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/retry"
)

// A timeout inside a retry bounds each attempt, and Keel's retry retries an
// ExceededError with its default classification; Keel's breaker counts it
// as a failure. Neither package knows this one: the error's shape decides.
func TestRetryRetriesAndBreakerCountsATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeoutConfig("inventory", 100*time.Millisecond))
		b, err := breaker.New(breaker.Config{ConsecutiveFailures: 3, OpenDuration: time.Minute})
		require.NoError(t, err)
		r, err := retry.New(retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Delay: 10 * time.Millisecond}})
		require.NoError(t, err)

		attempts := 0
		start := time.Now()
		err = r.Do(context.Background(), func(ctx context.Context) error {
			return b.Do(ctx, func(ctx context.Context) error {
				return p.Do(ctx, func(ctx context.Context) error {
					attempts++
					if attempts <= 2 {
						return sleep(ctx, time.Hour) // hangs until the timeout
					}
					return nil
				})
			})
		})
		require.NoError(t, err)
		assert.Equal(t, 3, attempts, "each timed-out attempt was retried")
		assert.Equal(t, 2*100*time.Millisecond+2*10*time.Millisecond, time.Since(start))
		assert.Equal(t, breaker.Closed, b.State(), "two timeouts then a success: the count was reset")

		// Three timeouts in a row open the breaker: they are failures.
		attempts = 0
		_ = r.Do(context.Background(), func(ctx context.Context) error {
			return b.Do(ctx, func(ctx context.Context) error {
				return p.Do(ctx, func(ctx context.Context) error { attempts++; return sleep(ctx, time.Hour) })
			})
		})
		assert.Equal(t, 3, attempts)
		assert.Equal(t, breaker.Open, b.State())
	})
}
