package resilience_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

var errBoom = errors.New("boom")

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

func newRetry(t testing.TB, cfg retry.Config) *retry.Policy {
	t.Helper()
	p, err := retry.New(cfg)
	require.NoError(t, err)
	return p
}

func newBreaker(t testing.TB, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(cfg)
	require.NoError(t, err)
	return b
}

func newTimeout(t testing.TB, name string, d time.Duration) *timeout.Policy {
	t.Helper()
	p, err := timeout.New(timeout.Config{Name: name, Timeout: d})
	require.NoError(t, err)
	return p
}

func newHedge(t testing.TB, cfg hedge.Config) *hedge.Policy {
	t.Helper()
	p, err := hedge.New(cfg)
	require.NoError(t, err)
	return p
}

func newFallback[T any](t testing.TB, cfg fallback.Config[T]) *fallback.Policy[T] {
	t.Helper()
	p, err := fallback.New(cfg)
	require.NoError(t, err)
	return p
}

func newLimiter(t testing.TB, cfg ratelimit.Config) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}
