package dashboard

import (
	"context"
	"math"
	"weak"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scope = "github.com/keel-go/keel/metrics/dashboard"

// exportForecasts registers keel.dashboard.forecast.seconds_to_threshold:
// for every forecast series whose trend reaches its threshold, the seconds
// until it does, so that alert rules (metrics/alert, or Prometheus over
// /metrics) can use the forecast. The callback holds the dashboard weakly.
func (d *Dashboard) exportForecasts(mp metric.MeterProvider) (metric.Registration, error) {
	if len(d.cfg.Forecasts) == 0 {
		return nil, nil
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	g, err := mp.Meter(scope).Float64ObservableGauge("keel.dashboard.forecast.seconds_to_threshold",
		metric.WithUnit("s"),
		metric.WithDescription("Seconds until a forecast series reaches its threshold at its current linear growth (absent when it does not)"))
	if err != nil {
		return nil, err
	}
	wd := weak.Make(d)
	return mp.Meter(scope).RegisterCallback(func(_ context.Context, o metric.Observer) error {
		d := wd.Value()
		if d == nil {
			return nil
		}
		for _, p := range d.predictions() {
			if s := float64(p.SecondsToThreshold); !math.IsNaN(s) {
				kv := make([]attribute.KeyValue, 0, len(p.Attributes)+1)
				kv = append(kv, attribute.String("keel.dashboard.metric", p.Metric))
				for k, v := range p.Attributes {
					kv = append(kv, attribute.String(k, v))
				}
				o.ObserveFloat64(g, s, metric.WithAttributes(kv...))
			}
		}
		return nil
	}, g)
}

// predictions computes the forecasts alone, under the mutex.
func (d *Dashboard) predictions() []Prediction {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hist
	v := viewer{h: h, slots: h.slots(), window: d.cfg.windowSamples, byName: make(map[string][]*series)}
	for _, sr := range h.order {
		v.byName[sr.name] = append(v.byName[sr.name], sr)
	}
	return v.forecasts(d.cfg.Forecasts)
}
