package audit

import (
	"context"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the package's meter and tracer.
const scope = "github.com/keel-go/keel/audit"

type instruments struct {
	tracer        trace.Tracer
	logDuration   metric.Float64Histogram
	events        metric.Int64Counter
	drops         metric.Int64Counter
	batchSize     metric.Int64Histogram
	sinkErrors    metric.Int64Counter
	checkpoints   metric.Int64Counter
	witnessErrors metric.Int64Counter
	reg           metric.Registration

	// Pre-built option slices: passing them with ... does not allocate.
	okRecord, errRecord []metric.RecordOption
	okAdd, errAdd       []metric.AddOption
}

func newInstruments(mp metric.MeterProvider, l *Logger) (*instruments, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	tp := l.cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(scope)
	in := &instruments{tracer: tp.Tracer(scope)}
	var err error
	mode := "durable"
	if l.cfg.Mode == Buffered {
		mode = "buffered"
	}
	ok := metric.WithAttributeSet(attribute.NewSet(attribute.String("keel.audit.mode", mode), attribute.String("keel.audit.result", "ok")))
	bad := metric.WithAttributeSet(attribute.NewSet(attribute.String("keel.audit.mode", mode), attribute.String("keel.audit.result", "error")))
	in.okRecord, in.errRecord = []metric.RecordOption{ok}, []metric.RecordOption{bad}
	in.okAdd, in.errAdd = []metric.AddOption{ok}, []metric.AddOption{bad}
	if in.logDuration, err = m.Float64Histogram("keel.audit.log.duration", metric.WithUnit("s"),
		metric.WithDescription("Time Log took to accept (buffered) or persist (durable) an event.")); err != nil {
		return nil, err
	}
	if in.events, err = m.Int64Counter("keel.audit.events", metric.WithUnit("{event}"),
		metric.WithDescription("Events passed to Log, by result.")); err != nil {
		return nil, err
	}
	if in.drops, err = m.Int64Counter("keel.audit.dropped", metric.WithUnit("{event}"),
		metric.WithDescription("Events dropped because the queue was full (OnFull Drop); each drop is recorded in a gap record.")); err != nil {
		return nil, err
	}
	if in.batchSize, err = m.Int64Histogram("keel.audit.batch.size", metric.WithUnit("{event}"),
		metric.WithDescription("Events written together (one fsync in durable mode).")); err != nil {
		return nil, err
	}
	if in.sinkErrors, err = m.Int64Counter("keel.audit.sink.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Failed batch writes to a sink.")); err != nil {
		return nil, err
	}
	if in.checkpoints, err = m.Int64Counter("keel.audit.checkpoints", metric.WithUnit("{checkpoint}"),
		metric.WithDescription("Signed checkpoints written.")); err != nil {
		return nil, err
	}
	if in.witnessErrors, err = m.Int64Counter("keel.audit.witness.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Attempts to hand a checkpoint to the witness that failed (retried at each new checkpoint and after a backoff).")); err != nil {
		return nil, err
	}
	queue, err := m.Int64ObservableGauge("keel.audit.queue.length", metric.WithUnit("{event}"),
		metric.WithDescription("Events waiting for the writer."))
	if err != nil {
		return nil, err
	}
	checkpointSeq, err := m.Int64ObservableGauge("keel.audit.checkpoint.seq", metric.WithUnit("{record}"),
		metric.WithDescription("Sequence number of the newest checkpoint durable in the log: its history is one more witness of how far the log reached."))
	if err != nil {
		return nil, err
	}
	witnessedSeq, err := m.Int64ObservableGauge("keel.audit.witness.seq", metric.WithUnit("{record}"),
		metric.WithDescription("Sequence number of the newest checkpoint the log's witness holds."))
	if err != nil {
		return nil, err
	}
	in.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(queue, int64(len(l.queue)))
		if sinks := l.opened.Load(); sinks != nil {
			for _, st := range *sinks {
				attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("keel.audit.log.id", st.logID)))
				o.ObserveInt64(checkpointSeq, int64(st.checkpointSeq.Load()), attrs)
				if st.witness != nil {
					o.ObserveInt64(witnessedSeq, int64(st.witnessedSeq.Load()), attrs)
				}
			}
		}
		return nil
	}, queue, checkpointSeq, witnessedSeq)
	if err != nil {
		return nil, err
	}
	return in, nil
}

func (in *instruments) logged(ctx context.Context, start time.Time, err error) {
	rec, add := in.okRecord, in.okAdd
	if err != nil {
		rec, add = in.errRecord, in.errAdd
	}
	in.logDuration.Record(ctx, time.Since(start).Seconds(), rec...)
	in.events.Add(ctx, 1, add...)
}

func (in *instruments) unregister() {
	if in.reg != nil {
		_ = otelglobal.Unregister(in.reg)
	}
}
