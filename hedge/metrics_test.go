package hedge_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/hedge"
)

func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		budget := &fakeBudget{}
		budget.grants.Store(1)
		health := &fakeHealth{}
		health.healthy.Store(true)
		p := mustNew(t, hedge.Config{Name: "search", Delay: 10 * time.Millisecond, Budget: budget, Breaker: health, MeterProvider: mp})
		ctx := context.Background()

		_, _ = hedge.Do(ctx, p, newBackend(step{latency: time.Millisecond}).call)                             // first
		_, _ = hedge.Do(ctx, p, newBackend(step{latency: time.Second}, step{latency: time.Millisecond}).call) // hedge (granted)
		_, _ = hedge.Do(ctx, p, newBackend(step{latency: 20 * time.Millisecond}).call)                        // budget refuses
		_, _ = hedge.Do(ctx, p, newBackend(step{latency: time.Millisecond, err: errBoom}).call)               // failure
		health.healthy.Store(true)
		time.AfterFunc(5*time.Millisecond, func() { health.healthy.Store(false) })
		_, _ = hedge.Do(ctx, p, newBackend(step{latency: 20 * time.Millisecond}).call) // breaker refuses
		done, cancel := context.WithCancel(ctx)
		cancel()
		_, _ = hedge.Do(done, p, newBackend(step{}).call) // canceled

		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(ctx, &rm))
		got := map[string]float64{}
		for _, sm := range rm.ScopeMetrics {
			assert.Equal(t, "github.com/keel-go/keel/hedge", sm.Scope.Name)
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, dp := range d.DataPoints {
						got[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = float64(dp.Value)
					}
				case metricdata.Gauge[float64]:
					for _, dp := range d.DataPoints {
						got[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
					}
				}
			}
		}
		assert.Equal(t, map[string]float64{
			"keel.hedge.calls|keel.hedge.name=search,keel.hedge.outcome=first":       3,
			"keel.hedge.calls|keel.hedge.name=search,keel.hedge.outcome=hedge":       1,
			"keel.hedge.calls|keel.hedge.name=search,keel.hedge.outcome=failure":     1,
			"keel.hedge.calls|keel.hedge.name=search,keel.hedge.outcome=canceled":    1,
			"keel.hedge.hedges|keel.hedge.name=search":                               1,
			"keel.hedge.suppressed|keel.hedge.name=search,keel.hedge.reason=budget":  1,
			"keel.hedge.suppressed|keel.hedge.name=search,keel.hedge.reason=breaker": 1,
			"keel.hedge.delay|keel.hedge.name=search":                                0.01,
		}, got)
	})
}
