package hedge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/retry"
)

// Keel's retry budget and breaker satisfy the hedge's interfaces as they
// are: the packages meet through method sets, not imports.
var (
	_ hedge.Budget = (*retry.Budget)(nil)
	_ hedge.Health = (*breaker.Breaker)(nil)
)

// When the dependency turns slow and failing, hedging must not double its
// load: the shared budget stops the hedges once half its tokens are spent.
func TestBudgetStopsHedgingWhenTheDependencyFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const calls = 200
		run := func(budget hedge.Budget) (attempts int64) {
			p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, Budget: budget})
			var n atomic.Int64
			for range calls {
				_, _ = hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
					n.Add(1)
					if err := sleep(ctx, 50*time.Millisecond); err != nil {
						return 0, err
					}
					return 0, errBoom // slow, then failing: every call is hedged if allowed
				})
			}
			return n.Load()
		}
		assert.Equal(t, int64(2*calls), run(nil), "without a budget every failing call is hedged: twice the load")

		budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 10, TokenRatio: 0.1})
		require.NoError(t, err)
		assert.Equal(t, int64(calls+5), run(budget), "with one: MaxTokens/2 hedges in all, then none")
	})
}

// While the dependency's breaker is open, no hedge is sent.
func TestOpenBreakerStopsHedging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Minute})
		require.NoError(t, err)
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, Breaker: b})
		var attempts atomic.Int64
		slow := func(ctx context.Context) (int, error) {
			attempts.Add(1)
			return 1, sleep(ctx, 20*time.Millisecond)
		}
		_, err = hedge.Do(context.Background(), p, slow)
		require.NoError(t, err)
		assert.Equal(t, int64(2), attempts.Load(), "closed: hedged")

		_ = b.Do(context.Background(), func(context.Context) error { return errBoom })
		require.Equal(t, breaker.Open, b.State())
		attempts.Store(0)
		_, err = hedge.Do(context.Background(), p, slow)
		require.NoError(t, err)
		assert.Equal(t, int64(1), attempts.Load(), "open: not hedged")
	})
}
