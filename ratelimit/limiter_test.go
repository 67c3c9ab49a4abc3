package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/internal/metrictest"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  ratelimit.Config
		want string
	}{
		{"zero limit", ratelimit.Config{}, "Config.Limit must be > 0, got 0"},
		{"negative limit", ratelimit.Config{Limit: -1}, "Config.Limit must be > 0, got -1"},
		{"negative period", ratelimit.Config{Limit: 1, Period: -time.Second}, "Config.Period must be >= 0"},
		{"tiny period", ratelimit.Config{Limit: 1, Period: time.Microsecond}, "Config.Period must be at least 1ms"},
		{"negative burst", ratelimit.Config{Limit: 1, Burst: -2}, "Config.Burst must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ratelimit.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, l)
			assert.Contains(t, err.Error(), tt.want)
			assert.Regexp(t, "^ratelimit: ", err.Error())
		})
	}
}

func TestLimiterBurstThenRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := ratelimit.New(ratelimit.Config{Name: "orders", Limit: 10, Period: time.Second, Burst: 3})
		require.NoError(t, err)
		defer l.Close()

		for i := range 3 {
			assert.True(t, l.Allow(), "take %d of the burst", i)
		}
		assert.False(t, l.Allow(), "the burst is spent")

		time.Sleep(99 * time.Millisecond)
		assert.False(t, l.Allow(), "one unit takes 100ms to restore")
		time.Sleep(time.Millisecond)
		assert.True(t, l.Allow(), "restored after 100ms")
		assert.False(t, l.Allow())

		time.Sleep(time.Hour)
		for range 3 {
			assert.True(t, l.Allow())
		}
		assert.False(t, l.Allow(), "the bucket never holds more than Burst")
	})
}

func TestLimiterTakeReportsRemainingAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := ratelimit.New(ratelimit.Config{Limit: 60, Period: time.Minute, Burst: 2})
		require.NoError(t, err)
		defer l.Close()

		assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 1, Reset: time.Second}, l.Take())
		assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 0, Reset: time.Second}, l.Take())
		assert.Equal(t, ratelimit.Decision{Allowed: false, Remaining: 0, RetryAfter: time.Second, Reset: time.Second}, l.Take())
		time.Sleep(250 * time.Millisecond)
		assert.Equal(t, ratelimit.Decision{Allowed: false, RetryAfter: 750 * time.Millisecond, Reset: 750 * time.Millisecond}, l.Take())
		time.Sleep(time.Second)
		// 1.25 units restored; one taken leaves 0.25, so 750ms to the next unit.
		assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 0, Reset: 750 * time.Millisecond}, l.Take())
		assert.Equal(t, ratelimit.Quota{Name: "default", Quota: 60, Window: time.Minute, Burst: 2}, l.Policy())
	})
}

func TestLimiterWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := ratelimit.New(ratelimit.Config{Name: "upstream", Limit: 2, Period: time.Second, Burst: 1})
		require.NoError(t, err)
		defer l.Close()
		ctx := context.Background()

		start := time.Now()
		require.NoError(t, l.Wait(ctx))
		assert.Equal(t, time.Duration(0), time.Since(start), "a full bucket does not wait")
		require.NoError(t, l.Wait(ctx))
		assert.Equal(t, 500*time.Millisecond, time.Since(start), "the second unit is due after 500ms")

		// A deadline sooner than the next unit is refused at once, with when to retry.
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		before := time.Now()
		err = l.Wait(short)
		var limited *ratelimit.LimitedError
		require.ErrorAs(t, err, &limited)
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		assert.Equal(t, "upstream", limited.Limiter)
		assert.Equal(t, 500*time.Millisecond, limited.RetryAfter)
		assert.Equal(t, time.Duration(0), time.Since(before), "refused without sleeping")

		// The refused wait handed its unit back: the next one is still due 500ms
		// after the previous, not 1s.
		require.NoError(t, l.Wait(ctx))
		assert.Equal(t, time.Second, time.Since(start))

		// Cancellation stops a wait at once.
		cctx, cancelWait := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- l.Wait(cctx) }()
		synctest.Wait()
		cancelWait()
		err = <-done
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, errors.Is(err, ratelimit.ErrLimited))
	})
}

func TestLimiterDo(t *testing.T) {
	l, err := ratelimit.New(ratelimit.Config{Name: "reports", Limit: 1, Period: time.Hour})
	require.NoError(t, err)
	defer l.Close()
	ctx := context.Background()

	calls := 0
	got, err := ratelimit.Do(ctx, l, func(context.Context) (string, error) { calls++; return "ok", nil })
	require.NoError(t, err)
	assert.Equal(t, "ok", got)

	got, err = ratelimit.Do(ctx, l, func(context.Context) (string, error) { calls++; return "ok", nil })
	assert.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.Empty(t, got)
	assert.Equal(t, 1, calls, "a refused call does not run fn")
	assert.Contains(t, err.Error(), `ratelimit: "reports" limited, retry after`)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, l.Do(canceled, func(context.Context) error { calls++; return nil }), context.Canceled)
	assert.Equal(t, 1, calls)
}

func TestLimiterReserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := ratelimit.New(ratelimit.Config{Limit: 1, Period: time.Second})
		require.NoError(t, err)
		defer l.Close()
		require.True(t, l.Allow())
		r := l.Reserve()
		require.True(t, r.OK())
		assert.Equal(t, time.Second, r.Delay())
		r.Cancel()
		assert.False(t, l.Allow(), "cancelling a reservation returns its unit, not a new one")
	})
}

func TestLimiterMetrics(t *testing.T) {
	mp, collect := metrictest.New(t)
	l, err := ratelimit.New(ratelimit.Config{Name: "orders", Limit: 2, Period: time.Hour, MeterProvider: mp})
	require.NoError(t, err)
	for range 5 {
		l.Allow()
	}
	assert.Equal(t, map[string]int64{
		"keel.ratelimit.decision=allowed,keel.ratelimit.name=orders": 2,
		"keel.ratelimit.decision=limited,keel.ratelimit.name=orders": 3,
	}, collect("keel.ratelimit.decisions"))
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close is idempotent")
	assert.Empty(t, collect("keel.ratelimit.decisions"), "a closed limiter stops reporting")
}

// TestLimiterRateMetric: keel.ratelimit.rate is Limit/Period per second,
// the allowed rate a dashboard forecasts the limiter saturating at.
func TestLimiterRateMetric(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	l, err := ratelimit.New(ratelimit.Config{Name: "orders", Limit: 30, Period: time.Minute, MeterProvider: mp})
	require.NoError(t, err)
	defer l.Close()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[float64]); ok {
				for _, dp := range g.DataPoints {
					got[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
				}
			}
		}
	}
	assert.Equal(t, map[string]float64{"keel.ratelimit.rate|keel.ratelimit.name=orders": 0.5}, got)
}
