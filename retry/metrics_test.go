package retry_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/internal/gctest"
	"github.com/keel-go/keel/retry"
)

// sums collects every Int64 sum as "metric|attr=value,..." -> value.
func sums(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/keel-go/keel/retry", sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					out[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					out[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] += int64(dp.Count)
				}
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	p := mustNew(t, retry.Config{Name: "billing", MaxAttempts: 2, Backoff: retry.Constant{}, MeterProvider: mp})

	require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
	_ = p.Do(context.Background(), func(context.Context) error { return errBoom })
	_ = p.Do(context.Background(), func(context.Context) error { return retry.Permanent(errBoom) })

	assert.Equal(t, map[string]int64{
		"keel.retry.calls|keel.retry.name=billing,keel.retry.outcome=success":       1,
		"keel.retry.calls|keel.retry.name=billing,keel.retry.outcome=max_attempts":  1,
		"keel.retry.calls|keel.retry.name=billing,keel.retry.outcome=not_retryable": 1,
		"keel.retry.retries|keel.retry.name=billing":                                1,
		"keel.retry.delay|keel.retry.name=billing":                                  1,
	}, sums(t, reader))
}

func TestFirstAttemptSuccessDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	calls := 0 // captured, as a caller's closure usually captures its variables
	fn := func(context.Context) error { calls++; return nil }
	get := func(context.Context) (int, error) { calls++; return 42, nil }
	for name, cfg := range map[string]retry.Config{
		"global provider": {},
		"noop provider":   {MeterProvider: noop.NewMeterProvider()},
	} {
		t.Run(name, func(t *testing.T) {
			p := mustNew(t, cfg)
			ctx := context.Background()
			assert.Zero(t, testing.AllocsPerRun(100, func() { _ = p.Do(ctx, fn) }))
			assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, p, get) }))
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_ = p.Do(ctx, func(context.Context) error { calls++; return nil }) // a closure built per call
			}))
			assert.Positive(t, calls)
		})
	}
}

// A policy that is dropped stops being reported: its callback is unregistered
// when it is collected, so creating policies does not leak.
func TestMetricsCallbackGoesWithThePolicy(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	const key = "keel.retry.calls|keel.retry.name=short-lived,keel.retry.outcome=success"
	func() {
		p := mustNew(t, retry.Config{Name: "short-lived", MeterProvider: mp})
		require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
		assert.Equal(t, int64(1), sums(t, reader)[key])
	}()
	gone := false
	for range 100 { // cleanups run after a collection, on another goroutine
		runtime.GC()
		runtime.Gosched()
		if _, ok := sums(t, reader)[key]; !ok {
			gone = true
			break
		}
	}
	assert.True(t, gone, "the dropped policy is still reported")
}

// A policy with a live SDK meter provider is collected once dropped: its
// metric callback does not capture it (docs/CONVENTIONS.md).
func TestPolicyIsCollected(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
	gctest.Collected(t, func() *retry.Policy {
		p := mustNew(t, retry.Config{Name: "dropped", MeterProvider: mp})
		require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
		return p
	})
}

// gauges collects every Float64 gauge as "metric|attr=value,..." -> value.
func gauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if data, ok := m.Data.(metricdata.Gauge[float64]); ok {
				for _, dp := range data.DataPoints {
					out[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
				}
			}
		}
	}
	return out
}

// TestBudgetMetrics: a policy with a budget reports the tokens left and the
// threshold under its name; failed attempts drain the tokens until the
// budget refuses, and a policy without a budget reports neither.
func TestBudgetMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 4, TokenRatio: 0.5})
	require.NoError(t, err)
	p := mustNew(t, retry.Config{Name: "ledger", MaxAttempts: 5, Backoff: retry.Constant{}, Budget: budget, MeterProvider: mp})
	mustNew(t, retry.Config{Name: "nobudget", MeterProvider: mp})
	assert.Equal(t, map[string]float64{
		"keel.retry.budget.tokens|keel.retry.name=ledger":    4,
		"keel.retry.budget.threshold|keel.retry.name=ledger": 2,
	}, gauges(t, reader))

	err = p.Do(context.Background(), func(context.Context) error { return errBoom })
	require.ErrorIs(t, err, retry.ErrBudgetExhausted)
	got := gauges(t, reader)
	assert.LessOrEqual(t, got["keel.retry.budget.tokens|keel.retry.name=ledger"], got["keel.retry.budget.threshold|keel.retry.name=ledger"])
	assert.Equal(t, budget.Tokens(), got["keel.retry.budget.tokens|keel.retry.name=ledger"])
}
