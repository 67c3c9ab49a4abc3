package retry_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/retry"
)

// Under a 100% failure rate, a shared budget keeps the load the dependency
// sees near the callers' own: about 1x, never MaxAttempts x.
func TestBudgetBoundsLoadUnderTotalFailure(t *testing.T) {
	const calls = 1000
	run := func(budget *retry.Budget) int64 {
		var attempts atomic.Int64
		var policies []*retry.Policy
		for range 4 { // several policies share one budget
			policies = append(policies, mustNew(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}, Budget: budget}))
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range calls / 8 {
					_ = policies[g%4].Do(context.Background(), func(context.Context) error {
						attempts.Add(1)
						return errBoom
					})
				}
			}()
		}
		wg.Wait()
		return attempts.Load()
	}

	assert.Equal(t, int64(3*calls), run(nil), "without a budget every call makes 3 attempts")

	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 10, TokenRatio: 0.1})
	require.NoError(t, err)
	got := run(budget)
	assert.LessOrEqual(t, got, int64(1.1*calls), "with a budget the load stays within 1.1x")
	assert.GreaterOrEqual(t, got, int64(calls), "first attempts always run")
	assert.LessOrEqual(t, budget.Tokens(), 5.0)
}

func TestBudgetRefillsOnSuccessAndReportsExhaustion(t *testing.T) {
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 4, TokenRatio: 0.5})
	require.NoError(t, err)
	p := mustNew(t, retry.Config{MaxAttempts: 5, Backoff: retry.Constant{}, Budget: budget})

	// 4 tokens, threshold 2: fail, (3 > 2) retry, fail, (2 > 2 is false) stop.
	calls := 0
	err = p.Do(context.Background(), func(context.Context) error { calls++; return errBoom })
	assert.Equal(t, 2, calls)
	assert.ErrorIs(t, err, retry.ErrBudgetExhausted)
	assert.InDelta(t, 2.0, budget.Tokens(), 1e-9)

	for range 4 {
		require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
	}
	assert.InDelta(t, 4.0, budget.Tokens(), 1e-9, "successes refill, capped at MaxTokens")
}

func TestNewBudgetValidates(t *testing.T) {
	for _, cfg := range []retry.BudgetConfig{{MaxTokens: -1}, {MaxTokens: 1001}, {TokenRatio: 2}, {TokenRatio: -0.1}} {
		_, err := retry.NewBudget(cfg)
		require.Error(t, err)
		assert.Regexp(t, `^retry: BudgetConfig\.(MaxTokens|TokenRatio) must be`, err.Error())
	}
	b, err := retry.NewBudget(retry.BudgetConfig{})
	require.NoError(t, err)
	assert.InDelta(t, 10.0, b.Tokens(), 1e-9)
}

// When half the attempts fail, retries without a budget add 50% more load
// (1 + 1/2 + 1/4 with three attempts); with the budget they add about
// TokenRatio's worth.
func TestBudgetBoundsLoadUnderPartialFailure(t *testing.T) {
	const calls = 10000
	run := func(budget *retry.Budget) int {
		p := mustNew(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}, Budget: budget})
		attempts := 0
		coin := rand.New(rand.NewPCG(1, 2)) // deterministic: the same failures in both runs
		for range calls {
			_ = p.Do(context.Background(), func(context.Context) error {
				attempts++
				if coin.IntN(2) == 0 {
					return errBoom
				}
				return nil
			})
		}
		return attempts
	}
	without := run(nil)
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 10, TokenRatio: 0.1})
	require.NoError(t, err)
	with := run(budget)
	t.Logf("attempts for %d calls: %d without a budget, %d with", calls, without, with)
	assert.Greater(t, without, int(1.3*calls))
	assert.LessOrEqual(t, with, int(1.1*calls))
}

func TestBudgetIgnoresNonRetryableFailures(t *testing.T) {
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 4})
	require.NoError(t, err)
	p := mustNew(t, retry.Config{Budget: budget})
	for range 10 {
		_ = p.Do(context.Background(), func(context.Context) error { return retry.Permanent(errBoom) })
	}
	assert.InDelta(t, 4.0, budget.Tokens(), 1e-9)
}

// Extra attempts that are not retries (hedges) pay one token each, up front,
// only while a retry would be allowed, and never overdraw under concurrency;
// deposits refill the bucket as successful calls do.
func TestBudgetWithdrawAndDeposit(t *testing.T) {
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 10, TokenRatio: 0.5})
	require.NoError(t, err)
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if budget.TryWithdraw() {
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(5), granted.Load(), "10 tokens, threshold 5: exactly 5 withdrawals")
	assert.Equal(t, 5.0, budget.Tokens())

	p := mustNew(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}, Budget: budget})
	calls := 0
	_ = p.Do(context.Background(), func(context.Context) error { calls++; return errBoom })
	assert.Equal(t, 1, calls, "the withdrawals spent what retries would have used")

	budget.Deposit()
	budget.Deposit()
	assert.Equal(t, 5.0, budget.Tokens(), "the failed call took one token; two deposits of 0.5 put it back")
	budget.Deposit()
	assert.True(t, budget.TryWithdraw(), "above the threshold again")
	assert.False(t, budget.TryWithdraw())
	for range 100 {
		budget.Deposit()
	}
	assert.Equal(t, 10.0, budget.Tokens(), "deposits stop at MaxTokens")
}
