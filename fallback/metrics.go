package fallback

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

const scope = "github.com/keel-go/keel/fallback"

// Call outcomes, the values of keel.fallback.outcome.
const (
	outcomeSuccess        = iota // the call succeeded; the fallback was not needed
	outcomeFallback              // the call failed and the fallback answered
	outcomeFallbackFailed        // the call failed and so did the fallback's Func
	outcomeFailure               // the call failed with an error When does not answer
	outcomeCanceled              // the caller's context ended the call
	outcomeCount
)

var outcomeNames = [outcomeCount]string{"success", "fallback", "fallback_failed", "failure", "canceled"}

type paddedCount struct {
	atomic.Int64
	_ [56]byte
}

// instruments counts calls in atomic counters (one increment per call) that
// an observable-counter callback reports when a reader collects.
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
	calls, err := m.Int64ObservableCounter("keel.fallback.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls through a fallback policy, by how they ended; outcome fallback: the fallback answered."))
	if err != nil {
		return nil, err
	}
	policy := attribute.String("keel.fallback.name", name)
	var opts [outcomeCount][]metric.ObserveOption
	for o, n := range outcomeNames {
		opts[o] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(policy, attribute.String("keel.fallback.outcome", n)))}
	}
	in := &instruments{calls: new([outcomeCount]paddedCount)}
	counts := in.calls
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
func unregisterWhenCollected[T any](in *instruments, owner *Policy[T]) {
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
