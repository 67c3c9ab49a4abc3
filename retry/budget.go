package retry

import (
	"fmt"
	"math"
	"sync/atomic"
)

// BudgetConfig configures a Budget. Zero fields mean the defaults.
type BudgetConfig struct {
	// MaxTokens is the bucket's size, in (0, 1000]. Default 10.
	MaxTokens float64
	// TokenRatio is what a successful attempt puts back, in (0, 1]. Default 0.1.
	TokenRatio float64
}

// Budget is a retry budget shared by any number of policies that call the
// same dependency: the retry throttling of gRPC (gRFC A6). The bucket starts
// full at MaxTokens; every failed attempt (first or retry) that the policy
// would retry takes one token (a permanent error or a cancellation does not),
// every successful attempt puts back TokenRatio, and a retry is allowed only
// while more than MaxTokens/2 tokens remain. First attempts always run.
//
// When the dependency fails every call, retries stop once the bucket falls to
// half, so it sees the callers' own load plus at most about MaxTokens/2 extra
// attempts rather than MaxAttempts times the load. Over a long run the bucket
// can only stay above half if successes put back what failures take, so every
// failed attempt (a retry included) must be paid for by 1/TokenRatio successful
// ones: retries add at most about TokenRatio of the successful load (0.1: the
// dependency sees at most ~1.1x), whatever the failure rate.
//
// Tokens are kept in thousandths, as gRPC does. A Budget is safe for
// concurrent use and lock-free.
type Budget struct {
	milli     atomic.Int64
	max       int64
	ratio     int64
	threshold int64
}

// NewBudget returns a full Budget, or an error naming a bad field.
func NewBudget(cfg BudgetConfig) (*Budget, error) {
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = 10
	}
	if cfg.TokenRatio == 0 {
		cfg.TokenRatio = 0.1
	}
	if !(cfg.MaxTokens > 0 && cfg.MaxTokens <= 1000) {
		return nil, fmt.Errorf("retry: BudgetConfig.MaxTokens must be in (0,1000], got %v", cfg.MaxTokens)
	}
	if !(cfg.TokenRatio > 0 && cfg.TokenRatio <= 1) {
		return nil, fmt.Errorf("retry: BudgetConfig.TokenRatio must be in (0,1], got %v", cfg.TokenRatio)
	}
	b := &Budget{
		max:   int64(math.Round(cfg.MaxTokens * 1000)),
		ratio: int64(math.Round(cfg.TokenRatio * 1000)),
	}
	if b.ratio == 0 {
		b.ratio = 1
	}
	b.threshold = b.max / 2
	b.milli.Store(b.max)
	return b, nil
}

// Tokens returns the tokens currently in the bucket.
func (b *Budget) Tokens() float64 { return float64(b.milli.Load()) / 1000 }

// TryWithdraw takes one token for an extra attempt that is not one of this
// package's retries — a hedged request, say — and reports whether it did.
// It takes one only while a retry would be allowed (more than MaxTokens/2
// tokens remain), atomically, so concurrent callers never overdraw. An
// extra attempt pays up front, whatever its outcome, because it is load
// the dependency would not otherwise see: while calls are slow but
// succeeding, nothing else drains the budget. Keel's hedge package spends a
// Budget through this method, without importing this package.
func (b *Budget) TryWithdraw() bool {
	for {
		cur := b.milli.Load()
		if cur <= b.threshold {
			return false
		}
		if b.milli.CompareAndSwap(cur, max(cur-1000, 0)) {
			return true
		}
	}
}

// Deposit credits one successful call, as a retry policy does after each
// successful attempt: it puts back TokenRatio tokens, up to MaxTokens.
// Policies outside this package that spend the budget (TryWithdraw) call it,
// so that a budget shared only by them still refills.
func (b *Budget) Deposit() { b.onSuccess() }

// allowRetry reports whether a retry may run now.
func (b *Budget) allowRetry() bool { return b.milli.Load() > b.threshold }

// onFailure takes one token, never going below zero.
func (b *Budget) onFailure() {
	for {
		cur := b.milli.Load()
		if cur == 0 {
			return
		}
		next := max(cur-1000, 0)
		if b.milli.CompareAndSwap(cur, next) {
			return
		}
	}
}

// onSuccess puts back TokenRatio, never going above MaxTokens. A full bucket
// is only read, so that successes under load do not contend on a write.
func (b *Budget) onSuccess() {
	for {
		cur := b.milli.Load()
		if cur >= b.max {
			return
		}
		next := min(cur+b.ratio, b.max)
		if b.milli.CompareAndSwap(cur, next) {
			return
		}
	}
}
