package timeout_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/timeout"
)

func sums(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/keel-go/keel/timeout", sm.Scope.Name)
		for _, m := range sm.Metrics {
			if data, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range data.DataPoints {
					out[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
				}
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		p := mustNew(t, timeout.Config{Name: "billing", Timeout: time.Second, MeterProvider: mp})

		require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
		_ = p.Do(context.Background(), func(context.Context) error { return errBoom })
		_ = p.Do(context.Background(), func(ctx context.Context) error { return sleep(ctx, time.Hour) })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = p.Do(ctx, func(context.Context) error { return nil })

		assert.Equal(t, map[string]int64{
			"keel.timeout.calls|keel.timeout.name=billing,keel.timeout.outcome=success":  1,
			"keel.timeout.calls|keel.timeout.name=billing,keel.timeout.outcome=failure":  1,
			"keel.timeout.calls|keel.timeout.name=billing,keel.timeout.outcome=exceeded": 1,
			"keel.timeout.calls|keel.timeout.name=billing,keel.timeout.outcome=canceled": 1,
		}, sums(t, reader))
	})
}

// The policy adds no allocation to those of context.WithTimeoutCause, and
// none at all when the caller's deadline comes first.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	calls := 0
	fn := func(context.Context) (int, error) { calls++; return 1, nil }
	for name, cfg := range map[string]timeout.Config{
		"global provider": {Timeout: time.Minute},
		"noop provider":   {Timeout: time.Minute, MeterProvider: noop.NewMeterProvider()},
	} {
		t.Run(name, func(t *testing.T) {
			p := mustNew(t, cfg)
			ctx := context.Background()
			contextOnly := testing.AllocsPerRun(100, func() {
				c, cancel := context.WithTimeoutCause(ctx, time.Minute, errBoom)
				_, _ = fn(c)
				cancel()
			})
			assert.Positive(t, contextOnly)
			assert.Equal(t, contextOnly, testing.AllocsPerRun(100, func() { _, _ = timeout.Do(ctx, p, fn) }))

			short, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = timeout.Do(short, p, fn) }))
			assert.Positive(t, calls)
		})
	}
}
