package ratelimit

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of every instrument and span.
const scope = "github.com/keel-go/keel/ratelimit"

// Attribute keys. Values are low-cardinality: a limiter's Name is chosen by
// the programmer, never derived from a request.
const (
	attrName     = attribute.Key("keel.ratelimit.name")
	attrDecision = attribute.Key("keel.ratelimit.decision")
)

// Decision attribute values.
const (
	decisionAllowed  = "allowed"
	decisionLimited  = "limited"
	decisionCanceled = "canceled"
)

// telemetry holds what every limiter reports through: its meter (for the
// asynchronous counters it registers itself), the wait histogram, and the
// tracer for waits.
type telemetry struct {
	name      string
	meter     metric.Meter
	tracer    trace.Tracer
	waitTime  metric.Float64Histogram
	allowed   metric.ObserveOption
	limited   metric.ObserveOption
	waitAttrs map[string]metric.RecordOption
	reg       metric.Registration
	// cleanup unregisters reg when the owner is collected without Close.
	cleanup runtime.Cleanup
}

// decisionCounts are what a limiter allowed and refused, kept in an
// allocation of their own so that its metric callback reads them without
// holding the limiter (docs/CONVENTIONS.md: a metric callback never keeps
// its owner alive).
type decisionCounts struct {
	allowed atomic.Int64
	limited atomic.Int64
}

func (c *decisionCounts) count(ok bool) {
	if ok {
		c.allowed.Add(1)
	} else {
		c.limited.Add(1)
	}
}

func newTelemetry(name string, mp metric.MeterProvider, tp trace.TracerProvider) (*telemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t := &telemetry{
		name:   name,
		meter:  mp.Meter(scope),
		tracer: tp.Tracer(scope),
	}
	var err error
	t.waitTime, err = t.meter.Float64Histogram("keel.ratelimit.wait.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time calls spent waiting for a token or a concurrency slot, by outcome."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	if err != nil {
		return nil, err
	}
	nameKV := attrName.String(name)
	t.allowed = metric.WithAttributeSet(attribute.NewSet(nameKV, attrDecision.String(decisionAllowed)))
	t.limited = metric.WithAttributeSet(attribute.NewSet(nameKV, attrDecision.String(decisionLimited)))
	t.waitAttrs = map[string]metric.RecordOption{}
	for _, d := range []string{decisionAllowed, decisionLimited, decisionCanceled} {
		t.waitAttrs[d] = metric.WithAttributeSet(attribute.NewSet(nameKV, attrDecision.String(d)))
	}
	return t, nil
}

// decisionsCounter creates the keel.ratelimit.decisions counter, observed from
// counts the limiter keeps itself so that the hot path only bumps an integer.
func (t *telemetry) decisionsCounter() (metric.Int64ObservableCounter, error) {
	return t.meter.Int64ObservableCounter("keel.ratelimit.decisions",
		metric.WithUnit("{decision}"),
		metric.WithDescription("Calls a limiter allowed or limited, by limiter name and decision."))
}

// register registers owner's observation callback and unregisters it when
// owner is garbage-collected, so that an owner dropped without Close stops
// being reported and is not kept alive by the MeterProvider. cb must not
// capture owner (only the counters it reads and pre-built options), or
// owner is never collected. close unregisters at once.
func register[T any](t *telemetry, owner *T, cb metric.Callback, instruments ...metric.Observable) error {
	reg, err := t.meter.RegisterCallback(cb, instruments...)
	if err != nil {
		return err
	}
	t.reg = reg
	t.cleanup = runtime.AddCleanup(owner, func(r metric.Registration) { _ = otelglobal.Unregister(r) }, reg)
	return nil
}

// close unregisters the callback now; the owner's Close calls it once.
func (t *telemetry) close() error {
	if t.reg == nil {
		return nil
	}
	t.cleanup.Stop()
	err := otelglobal.Unregister(t.reg)
	t.reg = nil
	return err
}

// recordWait records how long a call waited and how the wait ended.
func (t *telemetry) recordWait(ctx context.Context, d time.Duration, outcome string) {
	t.waitTime.Record(ctx, d.Seconds(), t.waitAttrs[outcome])
}

// startWait opens a span around a wait that is about to block.
func (t *telemetry) startWait(ctx context.Context, what string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, "ratelimit."+what,
		trace.WithAttributes(attrName.String(t.name)),
		trace.WithSpanKind(trace.SpanKindInternal))
}
