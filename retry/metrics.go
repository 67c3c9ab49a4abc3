package retry

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

const scope = "github.com/keel-go/keel/retry"

// Call outcomes, the values of keel.retry.outcome.
const (
	outcomeSuccess      = "success"
	outcomeMaxAttempts  = "max_attempts"
	outcomeMaxElapsed   = "max_elapsed"
	outcomeNotRetryable = "not_retryable"
	outcomeBudget       = "budget_exhausted"
	outcomeBackoffStop  = "backoff_stopped"
	outcomeCanceled     = "canceled"
)

var outcomes = []string{outcomeSuccess, outcomeMaxAttempts, outcomeMaxElapsed, outcomeNotRetryable,
	outcomeBudget, outcomeBackoffStop, outcomeCanceled}

// instruments holds the policy's instruments and, bound once at New, the
// attribute sets of every measurement, so that recording allocates nothing.
type instruments struct {
	calls       metric.Int64Counter
	retries     metric.Int64Counter
	delay       metric.Float64Histogram
	callOpts    map[string][]metric.AddOption
	successCall []metric.AddOption
	nameOpts    []metric.AddOption
	delayOpts   []metric.RecordOption
}

func newInstruments(mp metric.MeterProvider, name string) (*instruments, error) {
	if _, off := mp.(noop.MeterProvider); off {
		return nil, nil // measurements are skipped entirely: a nil *instruments records nothing
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	in := &instruments{callOpts: make(map[string][]metric.AddOption, len(outcomes))}
	var err error
	if in.calls, err = m.Int64Counter("keel.retry.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls through a retry policy, by how they ended.")); err != nil {
		return nil, err
	}
	// Retries rather than attempts: a call whose first attempt succeeds then
	// records one measurement, not two; attempts = calls + retries.
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
	for _, o := range outcomes {
		in.callOpts[o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(policy, attribute.String("keel.retry.outcome", o)))}
	}
	in.successCall = in.callOpts[outcomeSuccess]
	in.nameOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(policy))}
	in.delayOpts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(policy))}
	return in, nil
}

func (in *instruments) retry(ctx context.Context, delay float64) {
	if in == nil {
		return
	}
	in.retries.Add(ctx, 1, in.nameOpts...)
	in.delay.Record(ctx, delay, in.delayOpts...)
}

func (in *instruments) call(ctx context.Context, outcome string) {
	if in == nil {
		return
	}
	if outcome == outcomeSuccess {
		in.calls.Add(ctx, 1, in.successCall...)
		return
	}
	in.calls.Add(ctx, 1, in.callOpts[outcome]...)
}
