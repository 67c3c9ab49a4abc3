package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// BulkheadConfig configures a Bulkhead: at most MaxInFlight calls at once,
// and at most MaxQueue more waiting for a slot, each for at most MaxWait.
type BulkheadConfig struct {
	// Name identifies the bulkhead in errors and metrics. Default "default".
	Name string
	// MaxInFlight is the most calls that may run at once. Required (> 0).
	MaxInFlight int
	// MaxQueue is the most calls that may wait for a slot when all are taken.
	// Default 0: a call that finds every slot taken is refused at once.
	MaxQueue int
	// MaxWait bounds how long a queued call waits for a slot before it is
	// refused with ErrLimited. Default 0: as long as its context allows.
	MaxWait time.Duration
	// MeterProvider supplies the meter. Default: the otel global.
	MeterProvider metric.MeterProvider
	// TracerProvider supplies the tracer for queued waits. Default: the otel
	// global.
	TracerProvider trace.TracerProvider
	// Logger receives misuse reports (Release without Acquire). Nil means
	// no logs.
	Logger *slog.Logger
}

// Bulkhead limits concurrency: it sheds load before a service falls over by
// refusing calls beyond MaxInFlight (plus a bounded, time-limited queue). It
// is safe for concurrent use.
type Bulkhead struct {
	name     string
	slots    chan struct{}
	maxQueue int64
	maxWait  time.Duration
	counts   *bulkheadCounts
	logger   *slog.Logger
	tel      *telemetry
	once     sync.Once
}

// bulkheadCounts are a bulkhead's decisions and queue length, apart from the
// bulkhead so that its metric callback does not hold it.
type bulkheadCounts struct {
	decisionCounts
	queued atomic.Int64
}

// NewBulkhead returns a Bulkhead, or an error naming the first invalid
// BulkheadConfig field.
func NewBulkhead(cfg BulkheadConfig) (*Bulkhead, error) {
	if cfg.MaxInFlight <= 0 {
		return nil, fmt.Errorf("ratelimit: BulkheadConfig.MaxInFlight must be > 0, got %d", cfg.MaxInFlight)
	}
	if cfg.MaxQueue < 0 {
		return nil, fmt.Errorf("ratelimit: BulkheadConfig.MaxQueue must be >= 0, got %d", cfg.MaxQueue)
	}
	if cfg.MaxWait < 0 {
		return nil, fmt.Errorf("ratelimit: BulkheadConfig.MaxWait must be >= 0 (0 means until the context ends), got %s", cfg.MaxWait)
	}
	b := &Bulkhead{
		name:     nameOr(cfg.Name),
		slots:    make(chan struct{}, cfg.MaxInFlight),
		maxQueue: int64(cfg.MaxQueue),
		maxWait:  cfg.MaxWait,
		counts:   new(bulkheadCounts),
		logger:   orDiscard(cfg.Logger),
	}
	var err error
	b.tel, err = newTelemetry(b.name, cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return nil, err
	}
	decisions, err := b.tel.decisionsCounter()
	if err != nil {
		return nil, err
	}
	inFlight, err := b.tel.meter.Int64ObservableGauge("keel.ratelimit.in_flight",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls a bulkhead is currently running."))
	if err != nil {
		return nil, err
	}
	queued, err := b.tel.meter.Int64ObservableGauge("keel.ratelimit.queued",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls currently waiting for a bulkhead slot."))
	if err != nil {
		return nil, err
	}
	maxInFlight, err := b.tel.meter.Int64ObservableGauge("keel.ratelimit.max_in_flight",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls a bulkhead runs at most at once (its MaxInFlight): the limit keel.ratelimit.in_flight saturates at."))
	if err != nil {
		return nil, err
	}
	nameOnly := metric.WithAttributes(attrName.String(b.name))
	counts, slots, allowed, limited := b.counts, b.slots, b.tel.allowed, b.tel.limited
	err = register(b.tel, b, func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(decisions, counts.allowed.Load(), allowed)
		o.ObserveInt64(decisions, counts.limited.Load(), limited)
		o.ObserveInt64(inFlight, int64(len(slots)), nameOnly)
		o.ObserveInt64(queued, counts.queued.Load(), nameOnly)
		o.ObserveInt64(maxInFlight, int64(cap(slots)), nameOnly)
		return nil
	}, decisions, inFlight, queued, maxInFlight)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Acquire takes a slot, waiting in the queue if every slot is taken and the
// queue has room. It returns nil with a slot held (the caller must Release
// it), a *LimitedError when the queue is full or the wait exceeded MaxWait,
// or ctx.Err() when ctx ended first. No slot is held when it returns an error.
func (b *Bulkhead) Acquire(ctx context.Context) error {
	if b == nil {
		return errNilBulkhead
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case b.slots <- struct{}{}:
		b.counts.allowed.Add(1)
		return nil
	default:
	}
	if b.counts.queued.Add(1) > b.maxQueue {
		b.counts.queued.Add(-1)
		b.counts.limited.Add(1)
		return &LimitedError{Limiter: b.name}
	}
	defer b.counts.queued.Add(-1)
	return b.waitForSlot(ctx)
}

func (b *Bulkhead) waitForSlot(ctx context.Context) error {
	start := time.Now()
	ctx, span := b.tel.startWait(ctx, "bulkhead.wait")
	defer span.End()
	var expired <-chan time.Time
	if b.maxWait > 0 {
		timer := time.NewTimer(b.maxWait)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case b.slots <- struct{}{}:
		b.counts.allowed.Add(1)
		b.tel.recordWait(ctx, time.Since(start), decisionAllowed)
		return nil
	case <-expired:
		b.counts.limited.Add(1)
		b.tel.recordWait(ctx, time.Since(start), decisionLimited)
		span.SetStatus(codes.Error, "limited")
		return &LimitedError{Limiter: b.name}
	case <-ctx.Done():
		b.tel.recordWait(ctx, time.Since(start), decisionCanceled)
		span.SetStatus(codes.Error, "canceled")
		return ctx.Err()
	}
}

// Release frees a slot taken by a successful Acquire. A Release without a
// matching Acquire is a bug in the caller; it is logged and ignored rather
// than allowed to free someone else's slot twice.
func (b *Bulkhead) Release() {
	select {
	case <-b.slots:
	default:
		b.logger.Error("ratelimit: Bulkhead.Release called without a matching Acquire",
			slog.String("keel.ratelimit.name", b.name))
	}
}

// Do runs fn holding a slot, releasing it when fn returns (or panics). When
// no slot can be had it returns Acquire's error without running fn.
func (b *Bulkhead) Do(ctx context.Context, fn func(context.Context) error) error {
	if b == nil {
		return errNilBulkhead
	}
	if err := b.Acquire(ctx); err != nil {
		return err
	}
	defer b.Release()
	return fn(ctx)
}

// InFlight returns the number of slots currently held.
func (b *Bulkhead) InFlight() int { return len(b.slots) }

// Queued returns the number of calls currently waiting for a slot.
func (b *Bulkhead) Queued() int { return int(b.counts.queued.Load()) }

// Close unregisters the bulkhead's metric callback at once. The bulkhead
// still works after Close. Close is idempotent. A bulkhead dropped without
// Close is not kept alive by its metric callback: the callback is
// unregistered when the bulkhead is collected.
func (b *Bulkhead) Close() error {
	var err error
	b.once.Do(func() { err = b.tel.close() })
	return err
}
