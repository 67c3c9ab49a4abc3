package timeout

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

const scope = "github.com/keel-go/keel/timeout"

// Call outcomes, the values of keel.timeout.outcome.
const (
	outcomeSuccess  = iota // the call returned nil in time
	outcomeFailure         // the call returned an error in time
	outcomeExceeded        // the policy's deadline ended the call
	outcomeCanceled        // the caller's context ended the call (its own deadline included)
	outcomeCount
)

var outcomeNames = [outcomeCount]string{"success", "failure", "exceeded", "canceled"}

// paddedCount is a counter on a cache line of its own.
type paddedCount struct {
	atomic.Int64
	_ [56]byte
}

// instruments counts calls in atomic counters, one increment per call, and
// reports them from an observable-counter callback when a reader collects:
// recording through an SDK on every call would cost more than the policy.
type instruments struct {
	calls        *[outcomeCount]paddedCount
	registration metric.Registration
}

func newInstruments(mp metric.MeterProvider, name string) (*instruments, error) {
	if _, off := mp.(noop.MeterProvider); off {
		return nil, nil // a nil *instruments records nothing
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	calls, err := m.Int64ObservableCounter("keel.timeout.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls through a timeout policy, by how they ended."))
	if err != nil {
		return nil, err
	}
	policy := attribute.String("keel.timeout.name", name)
	var opts [outcomeCount][]metric.ObserveOption
	for o, n := range outcomeNames {
		opts[o] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(policy, attribute.String("keel.timeout.outcome", n)))}
	}
	in := &instruments{calls: new([outcomeCount]paddedCount)}
	counts := in.calls // the callback holds the counts, never the policy, so the policy can be collected
	in.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range counts {
			if v := counts[i].Load(); v > 0 {
				o.ObserveInt64(calls, v, opts[i]...)
			}
		}
		return nil
	}, calls)
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

func (in *instruments) count(outcome int) {
	if in == nil {
		return
	}
	in.calls[outcome].Add(1)
}
