package ratelimit

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// Config configures a Limiter: one token bucket that refills at Limit units
// per Period and holds at most Burst units.
type Config struct {
	// Name identifies the limiter in errors, metrics and HTTP headers.
	// Default "default". Keep it low-cardinality (a route or dependency name).
	Name string
	// Limit is the number of units restored per Period. Required (> 0).
	Limit int
	// Period is the time over which Limit units are restored. Default 1s;
	// at least 1ms.
	Period time.Duration
	// Burst is the bucket's capacity: the most units that can be taken at one
	// instant. Default Limit.
	Burst int
	// MeterProvider supplies the meter. Default: the otel global.
	MeterProvider metric.MeterProvider
	// TracerProvider supplies the tracer for waits. Default: the otel global.
	TracerProvider trace.TracerProvider
}

// Limiter is a token bucket built on golang.org/x/time/rate, with the house
// error, metrics and Do shape. It is safe for concurrent use.
type Limiter struct {
	cfg    rateConfig
	name   string
	bucket *rate.Limiter
	counts *decisionCounts
	tel    *telemetry
	once   sync.Once
}

// New returns a Limiter whose bucket starts full, or an error naming the
// first invalid Config field.
func New(cfg Config) (*Limiter, error) {
	rc, err := validateRate("Config", cfg.Limit, cfg.Period, cfg.Burst)
	if err != nil {
		return nil, err
	}
	l := &Limiter{
		cfg:    rc,
		name:   nameOr(cfg.Name),
		bucket: rate.NewLimiter(rc.rate(), rc.burst),
		counts: new(decisionCounts),
	}
	l.tel, err = newTelemetry(l.name, cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return nil, err
	}
	decisions, err := l.tel.decisionsCounter()
	if err != nil {
		return nil, err
	}
	limitRate, err := l.tel.meter.Float64ObservableGauge("keel.ratelimit.rate",
		metric.WithUnit("{decision}/s"),
		metric.WithDescription("Units a limiter restores per second (Limit/Period): the allowed rate it saturates at."))
	if err != nil {
		return nil, err
	}
	perSecond := float64(rc.limit) / rc.period.Seconds()
	nameOnly := metric.WithAttributes(attrName.String(l.name))
	counts, allowed, limited := l.counts, l.tel.allowed, l.tel.limited
	err = register(l.tel, l, func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(decisions, counts.allowed.Load(), allowed)
		o.ObserveInt64(decisions, counts.limited.Load(), limited)
		o.ObserveFloat64(limitRate, perSecond, nameOnly)
		return nil
	}, decisions, limitRate)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Allow takes one unit if one is available now and reports whether it did.
// It never blocks.
func (l *Limiter) Allow() bool {
	if l == nil {
		return false // fail closed: a nil limiter admits nothing
	}
	ok := l.bucket.Allow()
	l.count(ok)
	return ok
}

// Take is Allow with the detail a response header needs: what remains and
// when the next unit is restored.
func (l *Limiter) Take() Decision {
	if l == nil {
		return Decision{} // fail closed: not allowed
	}
	now := time.Now()
	ok := l.bucket.AllowN(now, 1)
	l.count(ok)
	return DecisionFromTokens(ok, l.bucket.TokensAt(now), l.cfg.burst, l.cfg.interval())
}

// Wait blocks until a unit is available and takes it. It returns ctx.Err()
// if ctx ends first, and a *LimitedError (at once, without sleeping) when
// ctx's deadline comes before the unit would.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return errNilLimiter
	}
	now := time.Now()
	r := l.bucket.ReserveN(now, 1)
	if !r.OK() {
		// Only possible when a take exceeds the burst, which one unit never
		// does because Burst >= 1 is enforced by New.
		l.count(false)
		return &LimitedError{Limiter: l.name}
	}
	err := waitDelay(ctx, l.tel, r.DelayFrom(now), now, r.CancelAt)
	if err == nil || errors.Is(err, ErrLimited) {
		l.count(err == nil)
	}
	return err
}

// Reserve takes a unit that may be due in the future and returns the
// reservation: wait r.Delay() before acting, or r.Cancel() to hand it back.
// Reservations are not counted in metrics.
func (l *Limiter) Reserve() *rate.Reservation { return l.bucket.Reserve() }

// Do runs fn if a unit is available now and returns a *LimitedError (which
// matches ErrLimited) without running fn otherwise. It does not wait: callers
// that prefer to wait call Wait first. A done ctx is returned as ctx.Err().
func (l *Limiter) Do(ctx context.Context, fn func(context.Context) error) error {
	if l == nil {
		return errNilLimiter
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d := l.Take()
	if !d.Allowed {
		return &LimitedError{Limiter: l.name, RetryAfter: d.RetryAfter}
	}
	return fn(ctx)
}

// Policy describes the limit for clients.
func (l *Limiter) Policy() Quota { return l.cfg.policy(l.name) }

// Close unregisters the limiter's metric callback at once. The limiter
// still works after Close; it just stops reporting. Close is idempotent. A
// limiter dropped without Close is not kept alive by its metric callback:
// the callback is unregistered when the limiter is collected.
func (l *Limiter) Close() error {
	var err error
	l.once.Do(func() { err = l.tel.close() })
	return err
}

func (l *Limiter) count(ok bool) { l.counts.count(ok) }

// Guard is anything with the house Do shape: Limiter, Bulkhead.
type Guard interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

// Do runs fn under g and returns its result; when g refuses the call, the
// zero T and g's error.
func Do[T any](ctx context.Context, g Guard, fn func(context.Context) (T, error)) (T, error) {
	if g == nil {
		var zero T
		return zero, errNilGuard
	}
	var out T
	err := g.Do(ctx, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}
