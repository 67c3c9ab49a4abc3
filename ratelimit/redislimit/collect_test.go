package redislimit_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"

	"github.com/keel-go/keel/internal/gctest"
	"github.com/keel-go/keel/ratelimit/internal/metrictest"
	"github.com/keel-go/keel/ratelimit/redislimit"
)

const droppedDecisions = "keel.ratelimit.decision=allowed,keel.ratelimit.name=dropped"

// usedUnreachable builds a FailLocal limiter with no Logger against a Redis
// that does not answer and takes a unit from it, so that it has logged (to
// nowhere) a failure and built its in-process limiter.
func usedUnreachable(t *testing.T, client redis.UniversalClient, mp metric.MeterProvider) *redislimit.Limiter {
	l, err := redislimit.New(redislimit.Config{
		Client: client, Name: "dropped", Limit: 10, FailMode: redislimit.FailLocal, Instances: 1, MeterProvider: mp,
	})
	require.NoError(t, err)
	d, err := l.Take(context.Background(), "k")
	require.NoError(t, err, "a nil Logger on the failure path logs nothing and does not panic")
	require.True(t, d.Allowed)
	return l
}

// A limiter dropped without Close is collected: its metric callback holds
// only its counts and degraded state (docs/CONVENTIONS.md).
func TestLimiterDroppedWithoutCloseIsCollected(t *testing.T) {
	mp, _ := metrictest.New(t)
	client := unreachableClient(t)
	gctest.Collected(t, func() *redislimit.Limiter { return usedUnreachable(t, client, mp) })
	runtime.KeepAlive(mp)
}

// Once collected, its series stops being reported; Close stops it at once.
func TestDroppedLimiterStopsBeingReported(t *testing.T) {
	mp, collect := metrictest.New(t)
	client := unreachableClient(t)
	func() {
		l := usedUnreachable(t, client, mp)
		assert.Equal(t, int64(1), collect("keel.ratelimit.decisions")[droppedDecisions])
		runtime.KeepAlive(l)
	}()
	assert.True(t, metrictest.GoneAfterGC(collect, "keel.ratelimit.decisions", droppedDecisions),
		"the dropped limiter is still reported")

	l := usedUnreachable(t, client, mp)
	require.Contains(t, collect("keel.ratelimit.decisions"), droppedDecisions)
	require.NoError(t, l.Close())
	assert.NotContains(t, collect("keel.ratelimit.decisions"), droppedDecisions, "Close unregisters at once")
	require.NoError(t, l.Close())
}
