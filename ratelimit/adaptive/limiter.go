package adaptive

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/keel-go/keel/ratelimit"
)

// Limiter is an adaptive concurrency limiter: it admits at most Limit()
// calls at once and finds that limit by itself from the latency of the
// calls it admits (see the package documentation). A call over the limit
// is refused at once, never queued: a queue is latency, which is what the
// limiter exists to keep down. It is safe for concurrent use.
type Limiter struct {
	name            string
	lowShare        float64
	normalShare     float64
	tenantShare     float64
	requestPriority func(*http.Request) Priority
	requestTenant   func(*http.Request) string
	writeProblem    func(http.ResponseWriter, *http.Request, ratelimit.Problem)
	logger          *slog.Logger
	refused         error
	stats           *counters

	mu       sync.Mutex
	ctl      *controller
	inFlight int
	tenants  tenants
	slots    permitSlots
}

// New returns a Limiter, or an error naming the first invalid Config
// field.
func New(cfg Config) (*Limiter, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	l := &Limiter{
		name:            cfg.Name,
		lowShare:        cfg.LowShare,
		normalShare:     cfg.NormalShare,
		tenantShare:     cfg.TenantShare,
		requestPriority: cfg.RequestPriority,
		requestTenant:   cfg.RequestTenant,
		writeProblem:    cfg.WriteProblem,
		logger:          cfg.Logger,
		refused:         &ratelimit.LimitedError{Limiter: cfg.Name},
		stats:           &counters{},
		ctl:             newController(cfg, time.Now()),
		tenants:         tenants{},
	}
	l.stats.limit.Store(int64(l.ctl.current()))
	reg, err := registerMetrics(cfg, l.stats)
	if err != nil {
		return nil, err
	}
	unregisterWhenCollected(l, reg)
	return l, nil
}

// Permit is one admitted call's slot. Release it exactly once, when the
// call is over; the zero Permit's methods do nothing.
type Permit struct {
	l      *Limiter
	start  time.Time
	tenant string
	slot   int32  // which of the limiter's slots the call holds
	gen    uint32 // the slot's generation when it was taken
}

// Release frees the slot and feeds the call's latency (from Acquire to
// Release) to the limit. A call cut short by its context's deadline is
// released too: its latency is a lower bound of the backend's, so it may
// understate overload but never invents it.
func (p Permit) Release() {
	if p.l != nil {
		p.l.release(p, true)
	}
}

// Drop frees the slot without feeding the call's latency to the limit: for
// a call that never reached the backend, whose latency says nothing about
// it.
func (p Permit) Drop() {
	if p.l != nil {
		p.l.release(p, false)
	}
}

// Acquire admits a call of the priority and tenant ctx carries
// (WithPriority, WithTenant), or refuses it with a *ratelimit.LimitedError
// (errors.Is(err, ratelimit.ErrLimited)) when its class's share of the
// limit, or its tenant's, is in use. It never waits. A context already
// ended returns ctx.Err(). Release the Permit when the call is over.
func (l *Limiter) Acquire(ctx context.Context) (Permit, error) {
	if l == nil {
		return Permit{}, errNilLimiter
	}
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	return l.acquire(PriorityFrom(ctx), TenantFrom(ctx))
}

func (l *Limiter) acquire(p Priority, tenant string) (Permit, error) {
	idx := p.index()
	now := time.Now()
	l.mu.Lock()
	limit := float64(l.ctl.current())
	if l.inFlight >= l.classCap(p, limit) || !l.tenants.admit(tenant, max(1, int(limit*l.tenantShare))) {
		l.mu.Unlock()
		l.stats.limited[idx].Add(1)
		return Permit{}, l.refused
	}
	slot, gen := l.slots.take()
	l.inFlight++
	l.ctl.noteInFlight(l.inFlight)
	l.stats.inFlight.Store(int64(l.inFlight))
	l.mu.Unlock()
	l.stats.allowed[idx].Add(1)
	return Permit{l: l, start: now, tenant: tenant, slot: slot, gen: gen}, nil
}

// classCap is how many calls may be in flight when a call of priority p
// asks to start: the class's share of the limit, at least one call.
func (l *Limiter) classCap(p Priority, limit float64) int {
	switch p.class() {
	case Low:
		return max(1, int(limit*l.lowShare))
	case Normal:
		return max(1, int(limit*l.normalShare))
	}
	return int(limit)
}

func (l *Limiter) release(p Permit, record bool) {
	var now time.Time
	if record {
		now = time.Now()
	}
	l.mu.Lock()
	if !l.slots.give(p.slot, p.gen) || !l.tenants.release(p.tenant) {
		l.mu.Unlock()
		l.logger.Error("adaptive: a Permit was released twice; the second release was ignored",
			slog.String("keel.ratelimit.name", l.name))
		return
	}
	l.inFlight--
	l.stats.inFlight.Store(int64(l.inFlight))
	before := l.ctl.current()
	closed := record && l.ctl.sample(now, now.Sub(p.start))
	after, baseline := l.ctl.current(), l.ctl.baseline
	l.mu.Unlock()
	if closed {
		l.stats.limit.Store(int64(after))
		l.stats.baseline.Store(int64(baseline))
		if after != before {
			l.logger.Debug("adaptive: concurrency limit changed",
				slog.String("keel.ratelimit.name", l.name),
				slog.Int("from", before), slog.Int("to", after),
				slog.Duration("no_load_latency", baseline))
		}
	}
}

// Do runs fn holding a permit of the priority and tenant ctx carries, and
// releases it (feeding fn's latency to the limit) when fn returns or
// panics. A refused call returns Acquire's error without running fn.
func (l *Limiter) Do(ctx context.Context, fn func(context.Context) error) error {
	p, err := l.Acquire(ctx)
	if err != nil {
		return err
	}
	defer p.Release()
	return fn(ctx)
}

// Do runs fn through l as Limiter.Do does, returning its value.
func Do[T any](ctx context.Context, l *Limiter, fn func(context.Context) (T, error)) (T, error) {
	p, err := l.Acquire(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer p.Release()
	return fn(ctx)
}

// Limit returns the current concurrency limit.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctl.current()
}

// InFlight returns how many calls hold a permit.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}

// NoLoadLatency returns the limiter's estimate of the backend's latency
// without load (its baseline), 0 before the first window closed.
func (l *Limiter) NoLoadLatency() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctl.baseline
}
