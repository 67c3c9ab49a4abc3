package retry

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

const scope = "github.com/keel-go/keel/retry"

// Call outcomes, the values of keel.retry.outcome.
const (
	outcomeSuccess = iota
	outcomeMaxAttempts
	outcomeMaxElapsed
	outcomeNotRetryable
	outcomeBudget
	outcomeBackoffStop
	outcomeCanceled
	outcomeCount
)

var outcomeNames = [outcomeCount]string{"success", "max_attempts", "max_elapsed", "not_retryable",
	"budget_exhausted", "backoff_stopped", "canceled"}

// paddedCount is a counter on a cache line of its own.
type paddedCount struct {
	atomic.Int64
	_ [56]byte
}

// instruments holds the policy's instruments and, bound once at New, the
// attribute sets of every measurement, so that recording allocates nothing.
// Calls are counted here, one atomic increment each, and reported by an
// observable-counter callback when a reader collects: recording through an SDK
// on every call would cost more than the policy itself. Retries and delays,
// rarer, are recorded directly.
type instruments struct {
	calls        *[outcomeCount]paddedCount
	retries      metric.Int64Counter
	delay        metric.Float64Histogram
	nameOpts     []metric.AddOption
	delayOpts    []metric.RecordOption
	registration metric.Registration
}

// newInstruments creates the policy's instruments; with a budget, also the
// budget's gauges, observed under the policy's name (a budget shared by
// several policies is reported once per policy, with the same values).
func newInstruments(mp metric.MeterProvider, name string, budget *Budget) (*instruments, error) {
	if _, off := mp.(noop.MeterProvider); off {
		return nil, nil // measurements are skipped entirely: a nil *instruments records nothing
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	in := &instruments{calls: new([outcomeCount]paddedCount)}
	calls, err := m.Int64ObservableCounter("keel.retry.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls through a retry policy, by how they ended."))
	if err != nil {
		return nil, err
	}
	// Retries rather than attempts: attempts = calls + retries.
	if in.retries, err = m.Int64Counter("keel.retry.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Attempts after the first made by a retry policy.")); err != nil {
		return nil, err
	}
	if in.delay, err = m.Float64Histogram("keel.retry.delay", metric.WithUnit("s"),
		metric.WithDescription("Waits before a retry."),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)); err != nil {
		return nil, err
	}
	observed := []metric.Observable{calls}
	var tokens, threshold metric.Float64ObservableGauge
	if budget != nil {
		if tokens, err = m.Float64ObservableGauge("keel.retry.budget.tokens", metric.WithUnit("{token}"),
			metric.WithDescription("Tokens left in a retry policy's budget.")); err != nil {
			return nil, err
		}
		if threshold, err = m.Float64ObservableGauge("keel.retry.budget.threshold", metric.WithUnit("{token}"),
			metric.WithDescription("Tokens a retry budget must hold above for a retry to run (MaxTokens/2).")); err != nil {
			return nil, err
		}
		observed = append(observed, tokens, threshold)
	}
	policy := attribute.String("keel.retry.name", name)
	var callOpts [outcomeCount][]metric.ObserveOption
	for o, n := range outcomeNames {
		callOpts[o] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(policy, attribute.String("keel.retry.outcome", n)))}
	}
	in.nameOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(policy))}
	in.delayOpts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(policy))}
	nameOnly := metric.WithAttributeSet(attribute.NewSet(policy))
	// The callback holds the counts and the budget, never the policy, so
	// the policy can be collected.
	counts := in.calls
	in.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range counts {
			if v := counts[i].Load(); v > 0 {
				o.ObserveInt64(calls, v, callOpts[i]...)
			}
		}
		if budget != nil {
			o.ObserveFloat64(tokens, budget.Tokens(), nameOnly)
			o.ObserveFloat64(threshold, float64(budget.threshold)/1000, nameOnly)
		}
		return nil
	}, observed...)
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

func (in *instruments) retry(ctx context.Context, delay float64) {
	if in == nil {
		return
	}
	in.retries.Add(ctx, 1, in.nameOpts...)
	in.delay.Record(ctx, delay, in.delayOpts...)
}

func (in *instruments) call(outcome int) {
	if in == nil {
		return
	}
	in.calls[outcome].Add(1)
}
