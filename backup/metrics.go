package backup

import (
	"context"
	"sync"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

const scope = "github.com/keel-go/keel/backup"

// Attribute keys; every value is from a small fixed set (driver names,
// operation names, results).
const (
	attrOperation = "keel.backup.operation"
	attrDriver    = "keel.backup.driver"
	attrResult    = "keel.backup.result"
	attrStage     = "keel.backup.stage"
)

type instruments struct {
	operations metric.Int64Counter
	duration   metric.Float64Histogram
	bytes      metric.Int64Counter
	reg        metric.Registration

	mu          sync.Mutex
	lastSuccess map[string]time.Time // by driver
}

func newInstruments(mp metric.MeterProvider) (*instruments, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	in := &instruments{lastSuccess: map[string]time.Time{}}
	var err error
	if in.operations, err = m.Int64Counter("keel.backup.operations", metric.WithUnit("{operation}"),
		metric.WithDescription("Backup operations (create, verify, restore, prune) by result.")); err != nil {
		return nil, err
	}
	if in.duration, err = m.Float64Histogram("keel.backup.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of backup operations."),
		metric.WithExplicitBucketBoundaries(0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400)); err != nil {
		return nil, err
	}
	if in.bytes, err = m.Int64Counter("keel.backup.bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes of successful backups: raw (the plain dump) and stored (compressed and encrypted).")); err != nil {
		return nil, err
	}
	last, err := m.Float64ObservableGauge("keel.backup.last_success", metric.WithUnit("s"),
		metric.WithDescription("Unix time of the last successful backup created by this process, per driver."))
	if err != nil {
		return nil, err
	}
	in.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		in.mu.Lock()
		defer in.mu.Unlock()
		for d, t := range in.lastSuccess {
			o.ObserveFloat64(last, float64(t.UnixNano())/1e9, metric.WithAttributes(attribute.String(attrDriver, d)))
		}
		return nil
	}, last)
	if err != nil {
		return nil, err
	}
	return in, nil
}

func (in *instruments) close() error {
	if in.reg == nil {
		return nil
	}
	return otelglobal.Unregister(in.reg)
}

func result(err error) string {
	if err != nil {
		return "failure"
	}
	return "success"
}

func (in *instruments) recordOp(ctx context.Context, op, driver string, start time.Time, err error) {
	attrs := metric.WithAttributes(attribute.String(attrOperation, op), attribute.String(attrDriver, driver),
		attribute.String(attrResult, result(err)))
	in.operations.Add(ctx, 1, attrs)
	in.duration.Record(ctx, time.Since(start).Seconds(), attrs)
}

func (in *instruments) recordCreate(ctx context.Context, driver string, start time.Time, raw, stored int64, err error) {
	in.recordOp(ctx, "create", driver, start, err)
	if err != nil {
		return
	}
	in.bytes.Add(ctx, raw, metric.WithAttributes(attribute.String(attrDriver, driver), attribute.String(attrStage, "raw")))
	in.bytes.Add(ctx, stored, metric.WithAttributes(attribute.String(attrDriver, driver), attribute.String(attrStage, "stored")))
	in.mu.Lock()
	in.lastSuccess[driver] = time.Now()
	in.mu.Unlock()
}

func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(scope)
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
