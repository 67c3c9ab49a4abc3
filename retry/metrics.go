package retry

import (
	"context"
	"runtime"
	"sync/atomic"

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

func newInstruments(mp metric.MeterProvider, name string) (*instruments, error) {
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
	policy := attribute.String("keel.retry.name", name)
	var callOpts [outcomeCount][]metric.ObserveOption
	for o, n := range outcomeNames {
		callOpts[o] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(policy, attribute.String("keel.retry.outcome", n)))}
	}
	in.nameOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(policy))}
	in.delayOpts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(policy))}
	counts := in.calls // the callback holds the counts, never the policy, so the policy can be collected
	in.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range counts {
			if v := counts[i].Load(); v > 0 {
				o.ObserveInt64(calls, v, callOpts[i]...)
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
	runtime.AddCleanup(owner, func(r metric.Registration) { _ = r.Unregister() }, in.registration)
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
