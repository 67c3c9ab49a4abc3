package dashboard_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/metrics/dashboard"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A series growing 2 units/s with a known ±3 zig-zag: the fit recovers the
// slope and the time to threshold.
func TestFitSyntheticGrowth(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var times []time.Time
	var values []float64
	for i := range 720 {
		times = append(times, t0.Add(time.Duration(i)*5*time.Second))
		noise := 3.0
		if i%2 == 1 {
			noise = -3
		}
		values = append(values, 100+2*float64(i*5)+noise)
	}
	values[10] = math.NaN() // a missing sample is skipped
	tr, err := dashboard.Fit(times, values)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tr.Slope-2) > 0.001 {
		t.Errorf("slope %v, want 2", tr.Slope)
	}
	if tr.Points != 719 {
		t.Errorf("points %d, want 719", tr.Points)
	}
	if !(tr.SlopeStdErr > 0 && tr.SlopeStdErr < 0.01) {
		t.Errorf("slope std err %v, want small and positive", tr.SlopeStdErr)
	}
	// Last point at 3595 s: about 100+7190 = 7290; 10 000 is ~1355 s away.
	eta, ok := tr.TimeToThreshold(10_000)
	if !ok || math.Abs(eta.Seconds()-(10_000-tr.Current)/2) > 1 || math.Abs(eta.Seconds()-1355) > 5 {
		t.Errorf("time to 10000: %v %v (current %v)", eta, ok, tr.Current)
	}
	if _, ok := tr.TimeToThreshold(0); ok {
		t.Error("a growing series reaches a threshold below it")
	}

	flat, err := dashboard.Fit(times[:3], []float64{5, 5, 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := flat.TimeToThreshold(10); ok || flat.Slope != 0 || flat.SlopeStdErr != 0 {
		t.Errorf("flat series: %+v reaches 10", flat)
	}
	if _, err := dashboard.Fit(times[:1], values[:1]); err == nil {
		t.Error("Fit of one point succeeded")
	}
	if _, err := dashboard.Fit(times[:2], values[:1]); err == nil {
		t.Error("Fit of mismatched lengths succeeded")
	}
}

// Forecasts configured on the dashboard fit the ring's samples of a gauge.
func TestForecastOverRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The forecasts are exported to another provider, as a service
		// would export them to its own.
		exportReader := sdkmetric.NewManualReader()
		export := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exportReader))
		defer export.Shutdown(context.Background())
		d, mp := newDashboard(t, dashboard.Config{MeterProvider: export,
			Forecasts: []dashboard.Forecast{{Metric: "keel.ratelimit.in_flight", Threshold: 100}}})
		start := time.Now()
		_, err := mp.Meter("test").Int64ObservableGauge("keel.ratelimit.in_flight",
			metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(int64(time.Since(start) / (10 * time.Second))) // +1 every 10 s
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10*time.Minute + time.Millisecond)
		synctest.Wait()
		fs := d.Snapshot().Forecasts
		if len(fs) != 1 {
			t.Fatalf("forecasts %+v, want one", fs)
		}
		f := fs[0]
		if math.Abs(float64(f.Slope)-0.1) > 0.001 {
			t.Errorf("slope %v, want 0.1/s", f.Slope)
		}
		// At 600 s the line stands near 60; 100 is ~400 s away.
		if s := float64(f.SecondsToThreshold); math.Abs(s-400) > 10 {
			t.Errorf("seconds to threshold %v, want about 400", f.SecondsToThreshold)
		}

		var rm metricdata.ResourceMetrics
		if err := exportReader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		var exported []metricdata.DataPoint[float64]
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if g, ok := m.Data.(metricdata.Gauge[float64]); ok && m.Name == "keel.dashboard.forecast.seconds_to_threshold" {
					exported = g.DataPoints
				}
			}
		}
		if len(exported) != 1 || exported[0].Value != float64(f.SecondsToThreshold) {
			t.Fatalf("exported %+v, want one point of %v", exported, f.SecondsToThreshold)
		}
		if v, _ := exported[0].Attributes.Value("keel.dashboard.metric"); v.AsString() != "keel.ratelimit.in_flight" {
			t.Errorf("exported point names %q", v.AsString())
		}
	})
}
