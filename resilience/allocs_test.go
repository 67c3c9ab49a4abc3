package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

//go:noinline
func succeed(context.Context) (int, error) { return 1, nil }

// A pipeline adds no allocation of its own to those of its policies: retry
// and breaker allocate nothing, so neither does a pipeline of the two; a
// timeout allocates its context, and the pipeline exactly that. A function
// that captures variables is moved to the heap once per call (one
// allocation), because a pipeline may run it on a hedge's goroutines.
func TestPipelineAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	ctx := context.Background()
	rt := newRetry(t, retry.Config{})
	br := newBreaker(t, breaker.Config{})
	to := newTimeout(t, "attempt", time.Minute)

	plain, err := resilience.With(rt, br)
	if !assert.NoError(t, err) {
		return
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = resilience.Do(ctx, plain, succeed) }))
	n := 0
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() {
		_, _ = resilience.Do(ctx, plain, func(context.Context) (int, error) { n++; return n, nil })
	}), "a capturing closure: one allocation")

	withTimeout, err := resilience.With(rt, br, to)
	if !assert.NoError(t, err) {
		return
	}
	alone := testing.AllocsPerRun(100, func() { _, _ = timeout.Do(ctx, to, succeed) })
	assert.Positive(t, alone)
	assert.Equal(t, alone, testing.AllocsPerRun(100, func() { _, _ = resilience.Do(ctx, withTimeout, succeed) }))
	assert.Equal(t, alone, testing.AllocsPerRun(100, func() {
		_ = withTimeout.Do(ctx, func(context.Context) error { return nil })
	}))
}
