package hedge

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

const scope = "github.com/keel-go/keel/hedge"

// Call outcomes, the values of keel.hedge.outcome.
const (
	outcomeFirst    = iota // the first attempt succeeded
	outcomeHedge           // a hedged attempt succeeded first
	outcomeFailure         // every attempt failed
	outcomeCanceled        // the caller's context ended the call
	outcomeCount
)

var outcomeNames = [outcomeCount]string{"first", "hedge", "failure", "canceled"}

// Why a hedge was not sent, the values of keel.hedge.reason.
const (
	reasonBudget = iota
	reasonBreaker
	reasonCount
)

var reasonNames = [reasonCount]string{"budget", "breaker"}

type paddedCount struct {
	atomic.Int64
	_ [56]byte
}

type counts struct {
	calls      [outcomeCount]paddedCount
	hedges     paddedCount
	suppressed [reasonCount]paddedCount
}

// instruments counts in atomic counters, one increment per event, that an
// observable callback reports when a reader collects.
type instruments struct {
	counts       *counts
	registration metric.Registration
}

func newInstruments(mp metric.MeterProvider, name string, latency *estimator, fixed time.Duration) (*instruments, error) {
	if _, off := mp.(noop.MeterProvider); off {
		return nil, nil // a nil *instruments records nothing
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	calls, err := m.Int64ObservableCounter("keel.hedge.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls through a hedge policy, by how they ended: first or hedge (which attempt won), failure, canceled."))
	if err != nil {
		return nil, err
	}
	hedges, err := m.Int64ObservableCounter("keel.hedge.hedges", metric.WithUnit("{attempt}"),
		metric.WithDescription("Hedged attempts sent: the extra load hedging put on the dependency."))
	if err != nil {
		return nil, err
	}
	suppressed, err := m.Int64ObservableCounter("keel.hedge.suppressed", metric.WithUnit("{attempt}"),
		metric.WithDescription("Hedges that were due but not sent, by reason: budget or breaker."))
	if err != nil {
		return nil, err
	}
	delay, err := m.Float64ObservableGauge("keel.hedge.delay", metric.WithUnit("s"),
		metric.WithDescription("The delay before a hedge: the percentile of recent latencies, or the fixed delay."))
	if err != nil {
		return nil, err
	}
	policy := attribute.String("keel.hedge.name", name)
	nameOnly := []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(policy))}
	var callOpts [outcomeCount][]metric.ObserveOption
	for o, n := range outcomeNames {
		callOpts[o] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(policy, attribute.String("keel.hedge.outcome", n)))}
	}
	var reasonOpts [reasonCount][]metric.ObserveOption
	for r, n := range reasonNames {
		reasonOpts[r] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(policy, attribute.String("keel.hedge.reason", n)))}
	}
	in := &instruments{counts: &counts{}}
	c := in.counts // the callback holds the counts and the window, never the policy
	in.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range c.calls {
			if v := c.calls[i].Load(); v > 0 {
				o.ObserveInt64(calls, v, callOpts[i]...)
			}
		}
		o.ObserveInt64(hedges, c.hedges.Load(), nameOnly...)
		for i := range c.suppressed {
			if v := c.suppressed[i].Load(); v > 0 {
				o.ObserveInt64(suppressed, v, reasonOpts[i]...)
			}
		}
		d := fixed
		if latency != nil && latency.current() > 0 {
			d = latency.current()
		}
		o.ObserveFloat64(delay, d.Seconds(), nameOnly...)
		return nil
	}, calls, hedges, suppressed, delay)
	if err != nil {
		return nil, err
	}
	return in, nil
}

// unregisterWhenCollected removes the callback once owner is garbage.
func (in *instruments) unregisterWhenCollected(owner *Policy) {
	if in == nil {
		return
	}
	runtime.AddCleanup(owner, func(r metric.Registration) { _ = otelglobal.Unregister(r) }, in.registration)
}

func (in *instruments) call(outcome int) {
	if in != nil {
		in.counts.calls[outcome].Add(1)
	}
}

func (in *instruments) hedge() {
	if in != nil {
		in.counts.hedges.Add(1)
	}
}

func (in *instruments) suppressed(reason int) {
	if in != nil {
		in.counts.suppressed[reason].Add(1)
	}
}
