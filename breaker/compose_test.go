package breaker_test

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

// A retry outside an open breaker waits for the break to end (the rejection's
// RetryAfter is a floor for its delay) instead of spending its attempts on
// rejections, and the breaker counts real calls only.
func TestRetryOutsideBreakerWaitsForTheBreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 2, OpenDuration: 10 * time.Second})
		p, err := retry.New(retry.Config{MaxAttempts: 4, Backoff: retry.Constant{Delay: 100 * time.Millisecond}})
		require.NoError(t, err)

		calls := 0
		dependency := func(context.Context) error {
			calls++
			if calls <= 2 {
				return errBoom
			}
			return nil
		}
		start := time.Now()
		err = p.Do(context.Background(), func(ctx context.Context) error { return b.Do(ctx, dependency) })
		require.NoError(t, err)
		// attempt 1 fails, attempt 2 fails and opens the breaker, attempt 3 is
		// rejected and waits out the break, attempt 4 is the probe and succeeds.
		assert.Equal(t, 3, calls)
		assert.Equal(t, breaker.Closed, b.State())
		assert.Equal(t, 100*time.Millisecond+10*time.Second, time.Since(start))
	})
}
