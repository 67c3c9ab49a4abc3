package breaker_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/breaker"
)

// points collects every Int64 data point as "metric|attrs" -> value.
func points(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/keel-go/keel/breaker", sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					out[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
				}
			case metricdata.Gauge[int64]:
				for _, dp := range data.DataPoints {
					out[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
				}
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b := mustNew(t, breaker.Config{Name: "pay", ConsecutiveFailures: 2, MeterProvider: mp})
	ctx := context.Background()
	require.NoError(t, b.Do(ctx, succeed))
	_ = b.Do(ctx, func(context.Context) error { return context.Canceled })
	_ = b.Do(ctx, fail)
	_ = b.Do(ctx, fail)
	_ = b.Do(ctx, succeed) // rejected

	assert.Equal(t, map[string]int64{
		"keel.breaker.calls|keel.breaker.name=pay,keel.breaker.outcome=success":                        1,
		"keel.breaker.calls|keel.breaker.name=pay,keel.breaker.outcome=ignored":                        1,
		"keel.breaker.calls|keel.breaker.name=pay,keel.breaker.outcome=failure":                        2,
		"keel.breaker.rejections|keel.breaker.name=pay,keel.breaker.state=open":                        1,
		"keel.breaker.transitions|keel.breaker.from=closed,keel.breaker.name=pay,keel.breaker.to=open": 1,
		"keel.breaker.state|keel.breaker.name=pay,keel.breaker.state=closed":                           0,
		"keel.breaker.state|keel.breaker.name=pay,keel.breaker.state=open":                             1,
		"keel.breaker.state|keel.breaker.name=pay,keel.breaker.state=half-open":                        0,
		"keel.breaker.state|keel.breaker.name=pay,keel.breaker.state=forced-open":                      0,
		"keel.breaker.state|keel.breaker.name=pay,keel.breaker.state=disabled":                         0,
	}, points(t, reader))
}

func TestClosedDoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	ctx := context.Background()
	calls := 0 // captured, as a caller's closure usually captures its variables
	get := func(context.Context) (int, error) { calls++; return 7, nil }
	for name, cfg := range map[string]breaker.Config{
		"consecutive, global provider": {},
		"consecutive, noop provider":   {MeterProvider: noop.NewMeterProvider()},
		"count window":                 {FailureRate: 0.5},
		"time window and slow calls":   {FailureRate: 0.5, WindowDuration: 10e9, SlowCallRate: 0.5, SlowCallDuration: 1e9},
	} {
		t.Run(name, func(t *testing.T) {
			b := mustNew(t, cfg)
			assert.Zero(t, testing.AllocsPerRun(100, func() { _ = b.Do(ctx, succeed) }))
			assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = breaker.Do(ctx, b, get) }))
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_ = b.Do(ctx, func(context.Context) error { calls++; return nil }) // a closure built per call
			}))
			assert.Positive(t, calls)
			assert.Equal(t, breaker.Closed, b.State())
		})
	}
}

// A breaker that is dropped stops being reported: its callback is
// unregistered when it is collected, so creating breakers does not leak.
func TestMetricsCallbackGoesWithTheBreaker(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	func() {
		b := mustNew(t, breaker.Config{Name: "short-lived", MeterProvider: mp})
		require.NoError(t, b.Do(context.Background(), succeed))
		assert.Equal(t, int64(1), points(t, reader)["keel.breaker.calls|keel.breaker.name=short-lived,keel.breaker.outcome=success"])
	}()
	gone := false
	for range 100 { // cleanups run after a collection, on another goroutine
		runtime.GC()
		runtime.Gosched()
		if _, ok := points(t, reader)["keel.breaker.calls|keel.breaker.name=short-lived,keel.breaker.outcome=success"]; !ok {
			gone = true
			break
		}
	}
	assert.True(t, gone, "the dropped breaker is still reported")
}

// TestSlowCallsMetric: a call longer than SlowCallDuration is counted in
// keel.breaker.slow_calls, a quicker one is not, whatever their outcome.
func TestSlowCallsMetric(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		b := mustNew(t, breaker.Config{Name: "slowpay", FailureRate: 1, MinimumCalls: 100,
			SlowCallRate: 1, SlowCallDuration: time.Second, MeterProvider: mp})
		ctx := context.Background()
		sleepy := func(d time.Duration, err error) func(context.Context) error {
			return func(context.Context) error { time.Sleep(d); return err }
		}
		require.NoError(t, b.Do(ctx, sleepy(2*time.Second, nil)))
		require.NoError(t, b.Do(ctx, sleepy(500*time.Millisecond, nil)))
		_ = b.Do(ctx, sleepy(3*time.Second, errors.New("boom")))
		got := points(t, reader)
		assert.Equal(t, int64(2), got["keel.breaker.slow_calls|keel.breaker.name=slowpay"])
	})
}
