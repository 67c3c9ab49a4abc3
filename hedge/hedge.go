package hedge

import (
	"context"
	"fmt"
	"time"
)

// Policy sends hedged attempts of slow calls. It is safe for concurrent use;
// its only shared state is the latency window (Config.Percentile).
type Policy struct {
	name      string
	delay     time.Duration
	maxHedges int
	budget    Budget
	health    Health
	latency   *estimator // nil with a fixed Delay
	metrics   *instruments
}

// New returns a Policy, or an error naming the first invalid Config field.
func New(cfg Config) (*Policy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Policy{
		name:      cfg.Name,
		delay:     cfg.Delay,
		maxHedges: cfg.MaxHedges,
		budget:    cfg.Budget,
		health:    cfg.Breaker,
	}
	if cfg.Percentile > 0 {
		p.latency = newEstimator(cfg.Window, cfg.MinSamples, cfg.Percentile)
	}
	if p.metrics, err = newInstruments(cfg.MeterProvider, cfg.Name, p.latency, cfg.Delay); err != nil {
		return nil, fmt.Errorf("hedge: Config.MeterProvider: %w", err)
	}
	p.metrics.unregisterWhenCollected(p)
	return p, nil
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Breaker returns Config.Breaker, the health the policy asks before each
// hedge (nil: none). Keel's resilience package checks with it that a hedge
// outside a breaker in a pipeline watches that breaker.
func (p *Policy) Breaker() Health { return p.health }

// Delay returns the delay a call starting now would wait before its first
// hedge, and false when it would not hedge at all (the percentile is still
// warming up with no Delay, or the breaker is not healthy).
func (p *Policy) Delay() (time.Duration, bool) {
	d := p.delay
	if p.latency != nil {
		if v := p.latency.current(); v > 0 {
			d = v
		}
	}
	if d <= 0 || (p.health != nil && !p.health.Healthy()) {
		return 0, false
	}
	return d, true
}

// Do calls fn, and again (up to Config.MaxHedges times, one delay apart)
// while the earlier attempts are still running; the first success is
// returned and the other attempts are cancelled. fn runs on other goroutines
// and, in a hedged call, several times at once: it must be safe for that.
func (p *Policy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := run(ctx, p, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// Do is Policy.Do for functions that return a value: the winner's value is
// returned, and every other attempt's value is discarded (an *http.Response
// has its body closed). When every attempt fails, the last one's value is
// returned with the error (an *http.Response among them stays readable, as a
// winner's does).
//
// A winning *http.Response keeps its attempt's context until its body is read
// to the end or closed, so that it can be read after Do returns.
func Do[T any](ctx context.Context, p *Policy, fn func(ctx context.Context) (T, error)) (T, error) {
	return run(ctx, p, fn)
}

func run[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if p == nil {
		var zero T
		return zero, errNilPolicy
	}
	if err := ctx.Err(); err != nil {
		p.metrics.call(outcomeCanceled)
		var zero T
		return zero, err
	}
	delay, ok := p.Delay()
	if !ok {
		return direct(ctx, p, fn)
	}
	return hedged(ctx, p, delay, fn)
}

// direct runs a call that will not be hedged on the caller's goroutine: no
// goroutine and no timer; its latency still feeds the percentile.
func direct[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	var start time.Time
	if p.latency != nil {
		start = time.Now()
	}
	v, err := fn(ctx)
	p.finished(ctx, start, err, 0)
	return v, err
}

// hedged runs every attempt on a goroutine of its own and waits for the
// first success, the next hedge's delay, or the caller's cancellation. It
// returns as soon as the call is decided: losing attempts are cancelled and
// finish on their own goroutines, which discard what they return.
func hedged[T any](ctx context.Context, p *Policy, delay time.Duration, fn func(context.Context) (T, error)) (T, error) {
	c := &call[T]{
		results: make(chan result[T], p.maxHedges+1), // one slot per attempt: a send never blocks
		cancels: make([]context.CancelFunc, 0, p.maxHedges+1),
	}
	start := time.Now()
	c.launch(ctx, fn)
	running, sent := 1, 0
	timer := time.NewTimer(delay)
	defer timer.Stop()
	hedging := timer.C
	var (
		errs     []error
		last     T // the value of the latest failed attempt, returned if all fail
		lastFrom int
	)
	for {
		r, ok := c.ready()
		if !ok {
			select {
			case r = <-c.results:
			case <-hedging:
				// Results are taken first (c.ready), so that no hedge is sent
				// once an attempt has already answered; and none is paid for
				// or sent once the caller has gone (see callerGone).
				if !callerGone(ctx) && sent < p.maxHedges && p.allowHedge() {
					sent++
					running++
					c.launch(ctx, fn)
					if sent < p.maxHedges {
						timer.Reset(delay)
						continue
					}
				}
				hedging = nil
				continue
			case <-ctx.Done():
				c.decide(-1)
				discard(&last)
				p.metrics.call(outcomeCanceled)
				var zero T
				return zero, ctx.Err()
			}
		}
		running--
		if r.panicked {
			c.decide(-1)
			discard(&last)
			panic(r.panicValue)
		}
		if r.err == nil {
			c.decide(r.attempt)
			discard(&last)
			if !cancelWithBody(&r.v, c.cancels[r.attempt]) {
				c.cancels[r.attempt]()
			}
			p.finished(ctx, start, nil, r.attempt)
			return r.v, nil
		}
		errs = append(errs, r.err)
		discard(&last)
		last, lastFrom = r.v, r.attempt
		if running == 0 {
			// Every attempt sent has failed. A hedge is for a slow answer,
			// not a failed one: failures are a retry's to repeat. The last
			// value is returned (a 503 the caller may read), so its attempt's
			// context lives until its body is done, as a winner's does.
			c.decide(lastFrom)
			if !cancelWithBody(&last, c.cancels[lastFrom]) {
				c.cancels[lastFrom]()
			}
			err := errs[0]
			if len(errs) > 1 {
				err = &Error{Name: p.name, Errs: errs}
			}
			p.finished(ctx, start, err, -1)
			return last, err
		}
	}
}

// callerGone reports whether the caller's context is done or its deadline
// has come. The deadline is checked too because a context's deadline ends
// it through a timer of its own: at the instant both fall due, the hedge's
// timer may be seen first, while ctx.Err() is still nil, and a hedge sent
// then would be paid for and reach the dependency with no one waiting.
func callerGone(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

// allowHedge asks the breaker, then the budget (last, since asking it
// spends), whether one more hedge may be sent, and counts the answer.
func (p *Policy) allowHedge() bool {
	if p.health != nil && !p.health.Healthy() {
		p.metrics.suppressed(reasonBreaker)
		return false
	}
	if p.budget != nil && !p.budget.TryWithdraw() {
		p.metrics.suppressed(reasonBudget)
		return false
	}
	p.metrics.hedge()
	return true
}

// finished counts a call that ended with err (winner: the attempt that
// succeeded) and, for a success, feeds the latency window and credits the
// budget. The latency is from the call's start to its first success: when a
// hedge wins, that is a lower bound of the first attempt's own latency, which
// keeps the slow calls in the window's upper tail where they belong.
func (p *Policy) finished(ctx context.Context, start time.Time, err error, winner int) {
	switch {
	case err != nil && ctx.Err() != nil:
		p.metrics.call(outcomeCanceled)
		return
	case err != nil:
		p.metrics.call(outcomeFailure)
		return
	case winner == 0:
		p.metrics.call(outcomeFirst)
	default:
		p.metrics.call(outcomeHedge)
	}
	if p.latency != nil {
		p.latency.add(time.Since(start))
	}
	if p.budget != nil {
		p.budget.Deposit()
	}
}
