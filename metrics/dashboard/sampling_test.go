package dashboard_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/metrics/dashboard"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		cfg  dashboard.Config
		want string
	}{
		{dashboard.Config{}, "Config.Authorize, or Config.Public"},
		{dashboard.Config{Public: true, Interval: time.Millisecond}, "Config.Interval"},
		{dashboard.Config{Public: true, History: time.Second}, "Config.History"},
		{dashboard.Config{Public: true, Interval: time.Second, History: 200000 * time.Second}, "samples"},
		{dashboard.Config{Public: true, RateWindow: time.Second}, "Config.RateWindow"},
		{dashboard.Config{Public: true, MaxSeries: -1}, "Config.MaxSeries"},
		{dashboard.Config{Public: true, Forecasts: []dashboard.Forecast{{}}}, "Config.Forecasts[0].Metric"},
	}
	for _, c := range cases {
		d, err := dashboard.New(c.cfg)
		if err == nil {
			_ = d.Close()
			t.Fatalf("New(%+v) accepted", c.cfg)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want it to name %q", c.cfg, err, c.want)
		}
	}
}

// A gauge that follows the fake clock is sampled once per Interval, and the
// ring keeps exactly History/Interval samples.
func TestSamplingEveryIntervalIntoBoundedRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{Interval: 5 * time.Second, History: 50 * time.Second,
			RateWindow: 10 * time.Second})
		start := time.Now()
		_, err := mp.Meter("test").Int64ObservableGauge("go.goroutine.count",
			metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(int64(time.Since(start) / time.Second))
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3*5*time.Second + time.Millisecond)
		synctest.Wait()
		s := d.Snapshot()
		if s.Samples != 3 {
			t.Fatalf("after 3 intervals: %d samples, want 3", s.Samples)
		}
		if got := float64(s.Runtime.Goroutines); got != 15 {
			t.Errorf("latest value %v, want 15 (sampled at 15 s)", got)
		}
		if g := s.Runtime.GoroutinesHistory; len(g) != 3 || g[0] != 5 || g[1] != 10 {
			t.Errorf("history %v, want [5 10 15]", g)
		}

		time.Sleep(100 * time.Second)
		synctest.Wait()
		s = d.Snapshot()
		if s.Samples != 10 {
			t.Fatalf("after 23 intervals: %d samples, want the ring's 10", s.Samples)
		}
		if first, last := s.Times[0], s.Times[len(s.Times)-1]; last-first != 45_000 {
			t.Errorf("ring spans %d ms, want 45000", last-first)
		}
		if got := float64(s.Runtime.Goroutines); got != 115 {
			t.Errorf("latest value %v, want 115", got)
		}

		// After Close no more samples are taken.
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		before := d.Snapshot().Times
		time.Sleep(time.Minute)
		synctest.Wait()
		if after := d.Snapshot().Times; after[len(after)-1] != before[len(before)-1] {
			t.Error("a sample was taken after Close")
		}
	})
}

// More series than MaxSeries: the extra ones are refused and counted, and
// the memory bound holds.
func TestMaxSeriesIsEnforced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{MaxSeries: 3})
		_, err := mp.Meter("test").Int64ObservableGauge("keel.ratelimit.in_flight",
			metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				for i := range 5 {
					o.Observe(int64(i), metric.WithAttributes(attribute.String("keel.ratelimit.name", fmt.Sprint("l", i))))
				}
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2*dashboard.DefaultInterval + time.Millisecond)
		synctest.Wait()
		s := d.Snapshot()
		if s.Series != 3 || len(s.RateLimits) != 3 {
			t.Fatalf("series %d, rate limits %d; want 3 and 3", s.Series, len(s.RateLimits))
		}
		if s.DroppedSeries != 4 { // two series refused at each of two samples
			t.Errorf("dropped %d, want 4", s.DroppedSeries)
		}
		if got, want := d.MemoryBound(), 720*8+3*(5*720*8+12*65*8); got != want {
			t.Errorf("MemoryBound() = %d, want %d", got, want)
		}
	})
}

// A hostile attribute value is cut to MaxValueLen.
func TestLongAttributeValuesAreCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{})
		long := strings.Repeat("x", 10_000)
		_, err := mp.Meter("test").Int64ObservableGauge("keel.ratelimit.in_flight",
			metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(1, metric.WithAttributes(attribute.String("keel.ratelimit.name", long)))
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(dashboard.DefaultInterval + time.Millisecond)
		synctest.Wait()
		rl := d.Snapshot().RateLimits
		if len(rl) != 1 || len(rl[0].Name) != dashboard.MaxValueLen {
			t.Fatalf("rate limits %d, name length %d; want 1 and %d", len(rl), len(rl[0].Name), dashboard.MaxValueLen)
		}
	})
}

// Before the reader is registered, sampling is skipped without an error.
func TestUnregisteredReaderIsNotAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := dashboard.New(dashboard.Config{Public: true})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		time.Sleep(time.Minute)
		synctest.Wait()
		if s := d.Snapshot(); s.Samples != 0 || s.CollectErrors != 0 {
			t.Fatalf("samples %d, errors %d; want 0 and 0", s.Samples, s.CollectErrors)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(d.Reader()))
		defer mp.Shutdown(context.Background())
		time.Sleep(dashboard.DefaultInterval)
		synctest.Wait()
		if s := d.Snapshot(); s.Samples != 1 {
			t.Fatalf("after registration: %d samples, want 1", s.Samples)
		}
	})
}
