package dashboard

import (
	"context"
	"weak"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scope = "github.com/keel-go/keel/metrics/dashboard"

// exportForecasts registers the forecast gauges, so that alert rules
// (metrics/alert, or Prometheus over /metrics) can use them:
// keel.dashboard.forecast.seconds_to_threshold and
// .earliest_seconds_to_threshold for every Config.Forecasts series whose
// trend (or the fast end of its band) reaches its threshold, and
// keel.dashboard.saturation.seconds and .earliest_seconds for every
// [Saturation]. The callback holds the dashboard weakly.
func (d *Dashboard) exportForecasts(mp metric.MeterProvider) (metric.Registration, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	gauge := func(name, desc string) (metric.Float64ObservableGauge, error) {
		return m.Float64ObservableGauge(name, metric.WithUnit("s"), metric.WithDescription(desc))
	}
	central, err := gauge("keel.dashboard.forecast.seconds_to_threshold",
		"Seconds until a forecast series reaches its threshold at its current growth (absent when it does not)")
	if err != nil {
		return nil, err
	}
	earliest, err := gauge("keel.dashboard.forecast.earliest_seconds_to_threshold",
		"Seconds until a forecast series reaches its threshold at the fast end of its growth's 95% band (absent when it does not)")
	if err != nil {
		return nil, err
	}
	satCentral, err := gauge("keel.dashboard.saturation.seconds",
		"Seconds until a bulkhead, rate limiter, database pool or disk reaches its limit at its current growth (absent when it does not)")
	if err != nil {
		return nil, err
	}
	satEarliest, err := gauge("keel.dashboard.saturation.earliest_seconds",
		"Seconds until a bulkhead, rate limiter, database pool or disk reaches its limit at the fast end of its growth's 95% band (absent when it does not)")
	if err != nil {
		return nil, err
	}
	wd := weak.Make(d)
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		d := wd.Value()
		if d == nil {
			return nil
		}
		predictions, saturations := d.forecastsNow()
		observe := func(g metric.Float64ObservableGauge, n Number, kv []attribute.KeyValue) {
			if n.Valid() {
				o.ObserveFloat64(g, float64(n), metric.WithAttributes(kv...))
			}
		}
		for _, p := range predictions {
			kv := make([]attribute.KeyValue, 0, len(p.Attributes)+1)
			kv = append(kv, attribute.String("keel.dashboard.metric", p.Metric))
			for k, v := range p.Attributes {
				kv = append(kv, attribute.String(k, v))
			}
			observe(central, p.SecondsToThreshold, kv)
			observe(earliest, p.EarliestSecondsToThreshold, kv)
		}
		for _, s := range saturations {
			kv := []attribute.KeyValue{attribute.String("keel.dashboard.resource", s.Resource), attribute.String("keel.dashboard.name", s.Name)}
			observe(satCentral, s.SecondsToSaturation, kv)
			observe(satEarliest, s.EarliestSecondsToSaturation, kv)
		}
		return nil
	}, central, earliest, satCentral, satEarliest)
}

// forecastsNow computes the forecasts and saturations alone, under the
// mutex.
func (d *Dashboard) forecastsNow() ([]Prediction, []Saturation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.newViewer()
	return v.forecasts(d.cfg.Forecasts), v.saturations()
}
