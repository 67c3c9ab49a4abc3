package adaptive

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// scope is the instrumentation scope of every instrument.
const scope = "github.com/keel-go/keel/ratelimit/adaptive"

// counters is what the metric callback reads: the limiter bumps these
// atomics, and the callback holds only them, never the Limiter, so a
// Limiter dropped by its user is collected and stops being reported.
type counters struct {
	allowed  [classCount]atomic.Int64
	limited  [classCount]atomic.Int64
	inFlight atomic.Int64
	limit    atomic.Int64
	baseline atomic.Int64 // nanoseconds
}

// registerMetrics creates the instruments and registers the callback that
// reports c.
func registerMetrics(cfg Config, c *counters) (metric.Registration, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	decisions, err := m.Int64ObservableCounter("keel.ratelimit.adaptive.decisions",
		metric.WithUnit("{decision}"),
		metric.WithDescription("Calls an adaptive limiter admitted or refused, by decision and priority."))
	if err != nil {
		return nil, err
	}
	limit, err := m.Int64ObservableGauge("keel.ratelimit.adaptive.limit",
		metric.WithUnit("{call}"),
		metric.WithDescription("The concurrency limit an adaptive limiter has settled on."))
	if err != nil {
		return nil, err
	}
	inFlight, err := m.Int64ObservableGauge("keel.ratelimit.adaptive.in_flight",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls holding an adaptive limiter's permit."))
	if err != nil {
		return nil, err
	}
	baseline, err := m.Float64ObservableGauge("keel.ratelimit.adaptive.no_load_latency",
		metric.WithUnit("s"),
		metric.WithDescription("An adaptive limiter's estimate of its backend's latency without load."))
	if err != nil {
		return nil, err
	}
	name := attribute.String("keel.ratelimit.name", cfg.Name)
	nameOnly := metric.WithAttributeSet(attribute.NewSet(name))
	var allowedOpts, limitedOpts [classCount]metric.ObserveOption
	for _, p := range []Priority{Low, Normal, Critical} {
		prio := attribute.String("keel.ratelimit.priority", p.String())
		allowedOpts[p.index()] = metric.WithAttributeSet(attribute.NewSet(name, prio, attribute.String("keel.ratelimit.decision", "allowed")))
		limitedOpts[p.index()] = metric.WithAttributeSet(attribute.NewSet(name, prio, attribute.String("keel.ratelimit.decision", "limited")))
	}
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range classCount {
			o.ObserveInt64(decisions, c.allowed[i].Load(), allowedOpts[i])
			o.ObserveInt64(decisions, c.limited[i].Load(), limitedOpts[i])
		}
		o.ObserveInt64(limit, c.limit.Load(), nameOnly)
		o.ObserveInt64(inFlight, c.inFlight.Load(), nameOnly)
		if b := c.baseline.Load(); b > 0 {
			o.ObserveFloat64(baseline, float64(b)/1e9, nameOnly)
		}
		return nil
	}, decisions, limit, inFlight, baseline)
}

// unregisterWhenCollected removes the callback once owner is garbage.
func unregisterWhenCollected(owner *Limiter, reg metric.Registration) {
	runtime.AddCleanup(owner, func(r metric.Registration) { _ = otelglobal.Unregister(r) }, reg)
}
