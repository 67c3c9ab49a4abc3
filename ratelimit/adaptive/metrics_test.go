package adaptive_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/internal/gctest"
	"github.com/keel-go/keel/ratelimit/adaptive"
)

// collect returns every int64 data point by instrument name and attribute
// set.
func collect(t *testing.T, r sdkmetric.Reader) map[string]map[attribute.Distinct]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]map[attribute.Distinct]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			points := map[attribute.Distinct]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					points[p.Attributes.Equivalent()] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					points[p.Attributes.Equivalent()] = p.Value
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					points[p.Attributes.Equivalent()] = int64(p.Value * 1e9)
				}
			}
			out[m.Name] = points
		}
	}
	return out
}

func TestMetricsReportDecisionsByPriorityAndTheLimit(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
	l := fixed(t, 4, adaptive.Config{Name: "api", MeterProvider: mp})
	low := adaptive.WithPriority(context.Background(), adaptive.Low)
	held := acquireN(t, l, low, 3)
	_, err := l.Acquire(low)
	require.Error(t, err)

	name := attribute.String("keel.ratelimit.name", "api")
	key := func(prio, decision string) attribute.Distinct {
		s := attribute.NewSet(name, attribute.String("keel.ratelimit.priority", prio),
			attribute.String("keel.ratelimit.decision", decision))
		return s.Equivalent()
	}
	got := collect(t, reader)
	assert.Equal(t, int64(3), got["keel.ratelimit.adaptive.decisions"][key("low", "allowed")])
	assert.Equal(t, int64(1), got["keel.ratelimit.adaptive.decisions"][key("low", "limited")])
	assert.Equal(t, int64(0), got["keel.ratelimit.adaptive.decisions"][key("critical", "allowed")])
	nameSet := attribute.NewSet(name)
	nameOnly := nameSet.Equivalent()
	assert.Equal(t, int64(4), got["keel.ratelimit.adaptive.limit"][nameOnly])
	assert.Equal(t, int64(3), got["keel.ratelimit.adaptive.in_flight"][nameOnly])
	_, reported := got["keel.ratelimit.adaptive.no_load_latency"][nameOnly]
	assert.False(t, reported, "no latency is reported before it was measured")
	for _, p := range held {
		p.Release()
	}
	assert.Equal(t, int64(0), collect(t, reader)["keel.ratelimit.adaptive.in_flight"][nameOnly])
}

// A limiter with a live SDK meter provider is collected once dropped: its
// metric callback does not capture it (docs/CONVENTIONS.md).
func TestLimiterIsCollected(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
	gctest.Collected(t, func() *adaptive.Limiter {
		l, err := adaptive.New(adaptive.Config{Name: "dropped", MeterProvider: mp})
		require.NoError(t, err)
		require.NoError(t, l.Do(context.Background(), func(context.Context) error { return nil }))
		return l
	})
	// Once collected, its callback is unregistered by a cleanup, which runs
	// on a goroutine of the runtime's after the collection: poll, bounded.
	reported := func() bool {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if s, ok := m.Data.(metricdata.Gauge[int64]); ok && len(s.DataPoints) > 0 {
					return true
				}
			}
		}
		return false
	}
	for i := 0; i < 1000 && reported(); i++ {
		runtime.GC()
		runtime.Gosched()
	}
	assert.False(t, reported(), "a collected limiter is still reported")
}
