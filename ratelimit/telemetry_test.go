package ratelimit_test

import (
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/keel-go/keel/internal/gctest"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/internal/metrictest"
)

// allowedKey is an owner's allowed decisions in metrictest's keys.
func allowedKey(name string) string {
	return "keel.ratelimit.decision=allowed,keel.ratelimit.name=" + name
}

func newLimiter(t *testing.T, mp *sdkmetric.MeterProvider) *ratelimit.Limiter {
	l, err := ratelimit.New(ratelimit.Config{Name: "limiter", Limit: 10, MeterProvider: mp})
	require.NoError(t, err)
	require.True(t, l.Allow())
	return l
}

func newKeyed(t *testing.T, mp *sdkmetric.MeterProvider) *ratelimit.Keyed {
	k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "keyed", Limit: 10, MeterProvider: mp})
	require.NoError(t, err)
	require.True(t, k.Allow("a"))
	return k
}

func newBulkhead(t *testing.T, mp *sdkmetric.MeterProvider) *ratelimit.Bulkhead {
	b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{Name: "bulkhead", MaxInFlight: 1, MeterProvider: mp})
	require.NoError(t, err)
	require.NoError(t, b.Do(context.Background(), func(context.Context) error { return nil }))
	return b
}

// owners are the package's types with a metric callback; each one built
// has taken one allowed decision.
var owners = []struct {
	name      string
	build     func(*testing.T, *sdkmetric.MeterProvider) io.Closer
	collected func(*testing.T, *sdkmetric.MeterProvider)
}{
	{"limiter",
		func(t *testing.T, mp *sdkmetric.MeterProvider) io.Closer { return newLimiter(t, mp) },
		func(t *testing.T, mp *sdkmetric.MeterProvider) {
			gctest.Collected(t, func() *ratelimit.Limiter { return newLimiter(t, mp) })
		}},
	{"keyed",
		func(t *testing.T, mp *sdkmetric.MeterProvider) io.Closer { return newKeyed(t, mp) },
		func(t *testing.T, mp *sdkmetric.MeterProvider) {
			gctest.Collected(t, func() *ratelimit.Keyed { return newKeyed(t, mp) })
		}},
	{"bulkhead",
		func(t *testing.T, mp *sdkmetric.MeterProvider) io.Closer { return newBulkhead(t, mp) },
		func(t *testing.T, mp *sdkmetric.MeterProvider) {
			gctest.Collected(t, func() *ratelimit.Bulkhead { return newBulkhead(t, mp) })
		}},
}

// A limiter or bulkhead that its user drops without Close is collected:
// its metric callback does not capture it (docs/CONVENTIONS.md).
func TestOwnersDroppedWithoutCloseAreCollected(t *testing.T) {
	for _, o := range owners {
		t.Run(o.name, func(t *testing.T) {
			mp, _ := metrictest.New(t)
			o.collected(t, mp)
			runtime.KeepAlive(mp)
		})
	}
}

// Once collected, a dropped owner's callback is unregistered: its series
// stops being reported.
func TestDroppedOwnersStopBeingReported(t *testing.T) {
	for _, o := range owners {
		t.Run(o.name, func(t *testing.T) {
			mp, collect := metrictest.New(t)
			key := allowedKey(o.name)
			func() {
				c := o.build(t, mp)
				assert.Equal(t, int64(1), collect("keel.ratelimit.decisions")[key], "reported while in use")
				runtime.KeepAlive(c)
			}()
			assert.True(t, metrictest.GoneAfterGC(collect, "keel.ratelimit.decisions", key),
				"the dropped %s is still reported", o.name)
		})
	}
}

// Close unregisters at once, without waiting for a collection, and a
// second Close is a no-op.
func TestCloseStopsReportingAtOnce(t *testing.T) {
	for _, o := range owners {
		t.Run(o.name, func(t *testing.T) {
			mp, collect := metrictest.New(t)
			c := o.build(t, mp)
			require.Contains(t, collect("keel.ratelimit.decisions"), allowedKey(o.name))
			require.NoError(t, c.Close())
			assert.NotContains(t, collect("keel.ratelimit.decisions"), allowedKey(o.name))
			require.NoError(t, c.Close())
			runtime.KeepAlive(c)
		})
	}
}
