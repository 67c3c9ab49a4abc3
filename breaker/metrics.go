package breaker

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

const scope = "github.com/keel-go/keel/breaker"

var allStates = []State{Closed, Open, HalfOpen, ForcedOpen, Disabled}

// paddedCount is a counter on a cache line of its own, so that goroutines
// counting different outcomes do not contend.
type paddedCount struct {
	atomic.Int64
	_ [56]byte
}

// counts are the per-call measurements. They are kept here, one atomic
// increment per call, and reported by an observable-counter callback when a
// reader collects: recording through an SDK on every call would cost more
// than the breaker itself.
type counts struct {
	outcomes   [3]paddedCount               // by Outcome
	rejections [len(stateNames)]paddedCount // by State
	// slow counts calls slower than SlowCallDuration (only while
	// SlowCallRate is set: otherwise no call is timed).
	slow paddedCount
}

// instruments holds the breaker's instruments and every attribute set it
// records with, bound once at New so that recording allocates nothing.
type instruments struct {
	counts      *counts
	transitions metric.Int64Counter
	state       metric.Int64Gauge
	stateOpts   [len(stateNames)][]metric.RecordOption
	name        attribute.KeyValue
	// registration of the callback; unregistered when the breaker is collected.
	registration metric.Registration
}

func newInstruments(mp metric.MeterProvider, name string) (*instruments, error) {
	if _, off := mp.(noop.MeterProvider); off {
		return nil, nil // measurements are skipped entirely: a nil *instruments records nothing
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	in := &instruments{counts: &counts{}, name: attribute.String("keel.breaker.name", name)}
	wrap := func(e error) error { return fmt.Errorf("breaker: Config.MeterProvider: %w", e) }
	calls, err := m.Int64ObservableCounter("keel.breaker.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls a breaker let through, by outcome."))
	if err != nil {
		return nil, wrap(err)
	}
	rejections, err := m.Int64ObservableCounter("keel.breaker.rejections", metric.WithUnit("{call}"),
		metric.WithDescription("Calls a breaker rejected, by the state it was in."))
	if err != nil {
		return nil, wrap(err)
	}
	slowCalls, err := m.Int64ObservableCounter("keel.breaker.slow_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls a breaker let through that took longer than its SlowCallDuration."))
	if err != nil {
		return nil, wrap(err)
	}
	if in.transitions, err = m.Int64Counter("keel.breaker.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("State changes of a breaker.")); err != nil {
		return nil, wrap(err)
	}
	if in.state, err = m.Int64Gauge("keel.breaker.state", metric.WithUnit("1"),
		metric.WithDescription("1 for the breaker's current state, 0 for the others.")); err != nil {
		return nil, wrap(err)
	}
	var outcomeOpts [3][]metric.ObserveOption
	for _, o := range []Outcome{Success, Failure, Ignored} {
		outcomeOpts[o] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(in.name,
			attribute.String("keel.breaker.outcome", o.String())))}
	}
	var rejectOpts [len(stateNames)][]metric.ObserveOption
	for _, s := range allStates {
		set := attribute.NewSet(in.name, attribute.String("keel.breaker.state", s.String()))
		rejectOpts[s] = []metric.ObserveOption{metric.WithAttributeSet(set)}
		in.stateOpts[s] = []metric.RecordOption{metric.WithAttributeSet(set)}
	}
	slowOpts := []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(in.name))}
	c := in.counts // the callback holds the counts, never the breaker, so the breaker can be collected
	in.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range c.outcomes {
			if v := c.outcomes[i].Load(); v > 0 {
				o.ObserveInt64(calls, v, outcomeOpts[i]...)
			}
		}
		for _, s := range []State{Open, HalfOpen, ForcedOpen} {
			if v := c.rejections[s].Load(); v > 0 {
				o.ObserveInt64(rejections, v, rejectOpts[s]...)
			}
		}
		if v := c.slow.Load(); v > 0 {
			o.ObserveInt64(slowCalls, v, slowOpts...)
		}
		return nil
	}, calls, rejections, slowCalls)
	if err != nil {
		return nil, wrap(err)
	}
	in.recordState(Closed)
	return in, nil
}

// unregisterWhenCollected removes the callback once owner is garbage, so that a
// breaker that is dropped does not stay reported (or referenced) for ever.
func (in *instruments) unregisterWhenCollected(owner *Breaker) {
	if in == nil {
		return
	}
	runtime.AddCleanup(owner, func(r metric.Registration) { _ = otelglobal.Unregister(r) }, in.registration)
}

func (in *instruments) outcome(o Outcome) {
	if in == nil {
		return
	}
	in.counts.outcomes[o].Add(1)
}

// slowCall counts a call slower than SlowCallDuration.
func (in *instruments) slowCall() {
	if in == nil {
		return
	}
	in.counts.slow.Add(1)
}

func (in *instruments) rejected(s State) {
	if in == nil {
		return
	}
	in.counts.rejections[s].Add(1)
}

func (in *instruments) transition(from, to State) {
	if in == nil {
		return
	}
	in.transitions.Add(context.Background(), 1, metric.WithAttributes(in.name,
		attribute.String("keel.breaker.from", from.String()), attribute.String("keel.breaker.to", to.String())))
	in.recordState(to)
}

func (in *instruments) recordState(current State) {
	for _, s := range allStates {
		v := int64(0)
		if s == current {
			v = 1
		}
		in.state.Record(context.Background(), v, in.stateOpts[s]...)
	}
}
