package adaptive_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
	"github.com/keel-go/keel/resilience"
)

// A Limiter has the Do shape, so it joins a pipeline (as a policy of the
// caller's own: the pipeline's order rules do not know it yet).
func TestLimiterJoinsAPipeline(t *testing.T) {
	l := fixed(t, 1, adaptive.Config{})
	p, err := resilience.With(l)
	require.NoError(t, err)
	ctx := adaptive.WithPriority(context.Background(), adaptive.Critical)
	v, err := resilience.Do(ctx, p, func(ctx context.Context) (string, error) {
		// The one permit is held while the call runs.
		_, err := l.Acquire(ctx)
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		return "ok", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "ok", v)
	assert.Zero(t, l.InFlight())
}
