package idempotency

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scopeName is the instrumentation scope: the package's import path.
const scopeName = "github.com/keel-go/keel/idempotency"

type beginResult int

const (
	resultProceed beginResult = iota
	resultReplay
	resultConflict
	resultMismatch
	resultInvalid
	resultError
	numResults
)

var beginResultNames = [numResults]string{"proceed", "replay", "conflict", "mismatch", "invalid", "error"}

type storeOp int

const (
	opReserve storeOp = iota
	opComplete
	opRelease
	numOps
)

var storeOpNames = [numOps]string{"reserve", "complete", "release"}

type endKind int

const (
	endCompleted endKind = iota
	endReleased
	endLeaseLost
	endError
	numEnds
)

var endNames = [numEnds]string{"completed", "released", "lease_lost", "error"}

// telemetry holds the instruments and, precomputed, every attribute set they
// use, so that recording allocates nothing.
type telemetry struct {
	tracer   trace.Tracer
	begins   metric.Int64Counter
	ends     metric.Int64Counter
	duration metric.Float64Histogram
	// Option slices, not single options: passing one to a variadic
	// parameter would allocate a slice on every call.
	beginOpts [numResults][]metric.AddOption
	endOpts   [numEnds][]metric.AddOption
	durOpts   [numOps][2][]metric.RecordOption
	spanOpts  []trace.SpanStartOption
}

func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) (*telemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	meter := mp.Meter(scopeName)
	t := &telemetry{tracer: tp.Tracer(scopeName)}
	var err error
	if t.begins, err = meter.Int64Counter("keel.idempotency.begins",
		metric.WithUnit("{begin}"),
		metric.WithDescription("Begin calls, by result: proceed, replay, conflict (in progress), mismatch, invalid, error.")); err != nil {
		return nil, err
	}
	if t.ends, err = meter.Int64Counter("keel.idempotency.ends",
		metric.WithUnit("{end}"),
		metric.WithDescription("Complete and Release calls, by result: completed, released, lease_lost, error.")); err != nil {
		return nil, err
	}
	if t.duration, err = meter.Float64Histogram("keel.idempotency.store.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Latency of store operations (reserve, complete, release)."),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)); err != nil {
		return nil, err
	}
	for i, name := range beginResultNames {
		t.beginOpts[i] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("keel.idempotency.result", name)))}
	}
	for i, name := range endNames {
		t.endOpts[i] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("keel.idempotency.result", name)))}
	}
	for i, name := range storeOpNames {
		for j, failed := range []bool{false, true} {
			t.durOpts[i][j] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
				attribute.String("keel.idempotency.operation", name),
				attribute.Bool("keel.idempotency.error", failed)))}
		}
	}
	t.spanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	return t, nil
}

func (t *telemetry) begin(ctx context.Context, r beginResult) {
	t.begins.Add(ctx, 1, t.beginOpts[r]...)
}

func (t *telemetry) end(ctx context.Context, e endKind) { t.ends.Add(ctx, 1, t.endOpts[e]...) }

func (t *telemetry) storeDone(ctx context.Context, op storeOp, start time.Time, err error) {
	failed := 0
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		failed = 1
	}
	t.duration.Record(ctx, time.Since(start).Seconds(), t.durOpts[op][failed]...)
}

func (t *telemetry) start(ctx context.Context, name string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, t.spanOpts...)
}

func endSpan(span trace.Span, err error) {
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		span.RecordError(err)
		span.SetStatus(codes.Error, "store failed")
	}
	span.End()
}
