// Package metrictest collects the metrics a ratelimit package emits, for
// tests: a MeterProvider backed by a manual reader, and a function that
// returns one metric's data points keyed by their attributes.
package metrictest

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// New returns a MeterProvider (shut down when t ends) and collect, which
// reads the named metric's data points as "k1=v1,k2=v2" -> value (for a
// histogram, its count).
func New(t testing.TB) (mp *sdkmetric.MeterProvider, collect func(name string) map[string]int64) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, func(name string) map[string]int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatalf("metrictest: collect: %v", err)
		}
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				switch data := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, dp := range data.DataPoints {
						out[attrKey(dp.Attributes)] = dp.Value
					}
				case metricdata.Gauge[int64]:
					for _, dp := range data.DataPoints {
						out[attrKey(dp.Attributes)] = dp.Value
					}
				case metricdata.Histogram[float64]:
					for _, dp := range data.DataPoints {
						out[attrKey(dp.Attributes)] = int64(dp.Count)
					}
				default:
					t.Fatalf("metrictest: metric %s has unexpected type %T", name, m.Data)
				}
			}
		}
		return out
	}
}

func attrKey(set attribute.Set) string {
	parts := make([]string, 0, set.Len())
	for _, kv := range set.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(parts, ",")
}

// GoneAfterGC collects garbage until the named metric no longer reports
// the series key (a dropped owner's callback, unregistered by a cleanup
// that runs after a collection on another goroutine), and reports whether
// it went within a bounded number of collections.
func GoneAfterGC(collect func(name string) map[string]int64, name, key string) bool {
	for range 100 {
		runtime.GC()
		runtime.Gosched()
		if _, ok := collect(name)[key]; !ok {
			return true
		}
	}
	return false
}
