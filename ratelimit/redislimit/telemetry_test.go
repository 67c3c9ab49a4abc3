package redislimit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// newReader returns a MeterProvider and a function that collects one metric's
// data points as "attribute values joined" -> value.
func newReader(t *testing.T) (*sdkmetric.MeterProvider, func(name string) map[string]int64) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, func(name string) map[string]int64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
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
					t.Fatalf("metric %s has unexpected type %T", name, m.Data)
				}
			}
		}
		return out
	}
}

func attrKey(set attribute.Set) string {
	key := ""
	for _, kv := range set.ToSlice() {
		if key != "" {
			key += ","
		}
		key += string(kv.Key) + "=" + kv.Value.Emit()
	}
	return key
}
