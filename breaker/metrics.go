package breaker

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

const scope = "github.com/keel-go/keel/breaker"

var allStates = []State{Closed, Open, HalfOpen, ForcedOpen, Disabled}

// instruments holds the breaker's instruments and every attribute set it
// records with, bound once at New so that recording allocates nothing.
type instruments struct {
	calls       metric.Int64Counter
	rejections  metric.Int64Counter
	transitions metric.Int64Counter
	state       metric.Int64Gauge

	outcomeOpts [3][]metric.AddOption               // by Outcome
	rejectOpts  [len(stateNames)][]metric.AddOption // by State
	stateOpts   [len(stateNames)][]metric.RecordOption
	name        attribute.KeyValue
}

func newInstruments(mp metric.MeterProvider, name string) (*instruments, error) {
	if _, off := mp.(noop.MeterProvider); off {
		return nil, nil // measurements are skipped entirely: a nil *instruments records nothing
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	in := &instruments{name: attribute.String("keel.breaker.name", name)}
	var err error
	wrap := func(e error) error { return fmt.Errorf("breaker: Config.MeterProvider: %w", e) }
	if in.calls, err = m.Int64Counter("keel.breaker.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls a breaker let through, by outcome.")); err != nil {
		return nil, wrap(err)
	}
	if in.rejections, err = m.Int64Counter("keel.breaker.rejections", metric.WithUnit("{call}"),
		metric.WithDescription("Calls a breaker rejected, by the state it was in.")); err != nil {
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
	for _, o := range []Outcome{Success, Failure, Ignored} {
		in.outcomeOpts[o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(in.name,
			attribute.String("keel.breaker.outcome", o.String())))}
	}
	for _, s := range allStates {
		set := attribute.NewSet(in.name, attribute.String("keel.breaker.state", s.String()))
		in.rejectOpts[s] = []metric.AddOption{metric.WithAttributeSet(set)}
		in.stateOpts[s] = []metric.RecordOption{metric.WithAttributeSet(set)}
	}
	in.recordState(Closed)
	return in, nil
}

func (in *instruments) outcome(o Outcome) {
	if in == nil {
		return
	}
	in.calls.Add(context.Background(), 1, in.outcomeOpts[o]...)
}

func (in *instruments) rejected(s State) {
	if in == nil {
		return
	}
	in.rejections.Add(context.Background(), 1, in.rejectOpts[s]...)
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
