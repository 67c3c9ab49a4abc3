package retry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a Policy. The zero value of every field is a documented default.
type Config struct {
	// Name identifies the policy in metrics (keel.retry.name) and logs. Keep it
	// low-cardinality: the dependency's name, never a URL or a user id.
	// Default "default".
	Name string

	// MaxAttempts is the most times the function is called, the first call
	// included. Default 3. It must be >= 1; there is no unlimited setting
	// (use MaxElapsedTime or the context to bound long retrying).
	MaxAttempts int

	// MaxElapsedTime, when positive, stops retrying once the next attempt would
	// start later than this after the first attempt started. Default 0: no limit.
	MaxElapsedTime time.Duration

	// AttemptTimeout, when positive, gives each attempt a child context with this
	// timeout. An attempt that times out this way is retried (the caller's own
	// deadline is never retried). The child context is cancelled when the attempt
	// returns, so read anything that needs it (an HTTP body) inside the attempt.
	AttemptTimeout time.Duration

	// Backoff makes the delays between attempts. Default DefaultBackoff.
	Backoff Backoff

	// Classifier decides which outcomes to retry; nil means the default rules:
	// nil error is a success, Permanent and context errors stop, other errors retry.
	// See ClassifyHTTP for HTTP calls.
	Classifier Classifier

	// MaxRetryAfter caps a wait that the dependency asks for (Decision.After, an
	// error's RetryAfter method). Default 1 minute.
	MaxRetryAfter time.Duration

	// Budget, when set, throttles retries across every policy that shares it.
	Budget *Budget

	// OnRetry, when set, is called before each wait with the number of the
	// attempt that just failed (attempts are numbered from 1: the first call is
	// attempt 1), its error, and the delay before the next attempt.
	// It runs on the caller's goroutine; keep it short.
	OnRetry func(attempt int, err error, delay time.Duration)

	// MeterProvider for the keel.retry.* instruments; nil means otel's global
	// (a no-op until the application installs one). A noop.MeterProvider
	// switches measurement off entirely, without even a call per measurement.
	MeterProvider metric.MeterProvider

	// Logger receives a debug record per retry and a warning when a call gives
	// up after more than one attempt; nil means no logs.
	Logger *slog.Logger
}

// Policy retries calls. It holds no per-call state, so one Policy is safe to
// share across goroutines.
type Policy struct {
	name           string
	maxAttempts    int
	maxElapsed     time.Duration
	attemptTimeout time.Duration
	backoff        Backoff
	classifier     Classifier
	maxRetryAfter  time.Duration
	budget         *Budget
	onRetry        func(int, error, time.Duration)
	logger         *slog.Logger
	metrics        *instruments
	nameAttr       attribute.KeyValue
}

// New returns a Policy, or an error naming the first invalid Config field.
func New(cfg Config) (*Policy, error) {
	p := &Policy{
		name:           cfg.Name,
		maxAttempts:    cfg.MaxAttempts,
		maxElapsed:     cfg.MaxElapsedTime,
		attemptTimeout: cfg.AttemptTimeout,
		backoff:        cfg.Backoff,
		classifier:     cfg.Classifier,
		maxRetryAfter:  cfg.MaxRetryAfter,
		budget:         cfg.Budget,
		onRetry:        cfg.OnRetry,
		logger:         orDiscard(cfg.Logger),
	}
	if p.name == "" {
		p.name = "default"
	}
	switch {
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("retry: Config.MaxAttempts must be >= 1 (0 means 3), got %d", cfg.MaxAttempts)
	case cfg.MaxElapsedTime < 0:
		return nil, fmt.Errorf("retry: Config.MaxElapsedTime must be >= 0, got %v", cfg.MaxElapsedTime)
	case cfg.AttemptTimeout < 0:
		return nil, fmt.Errorf("retry: Config.AttemptTimeout must be >= 0, got %v", cfg.AttemptTimeout)
	case cfg.MaxRetryAfter < 0:
		return nil, fmt.Errorf("retry: Config.MaxRetryAfter must be >= 0, got %v", cfg.MaxRetryAfter)
	}
	if p.maxAttempts == 0 {
		p.maxAttempts = 3
	}
	if p.maxRetryAfter == 0 {
		p.maxRetryAfter = time.Minute
	}
	if p.backoff == nil {
		p.backoff = DefaultBackoff
	}
	if v, ok := p.backoff.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return nil, err
		}
	}
	in, err := newInstruments(cfg.MeterProvider, p.name, cfg.Budget)
	if err != nil {
		return nil, fmt.Errorf("retry: Config.MeterProvider: %w", err)
	}
	p.metrics = in
	in.unregisterWhenCollected(p)
	p.nameAttr = attribute.String("keel.retry.name", p.name)
	return p, nil
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Do calls fn until it succeeds or the policy gives up. It returns nil on
// success, and otherwise an *Error that keeps every attempt's error.
// Cancellation of ctx interrupts a wait at once and is never retried.
func (p *Policy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := run(ctx, p, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// Do is Policy.Do for functions that return a value. On failure it returns the
// last attempt's value (an *http.Response with an unread body, say) with the error.
func Do[T any](ctx context.Context, p *Policy, fn func(ctx context.Context) (T, error)) (T, error) {
	return run(ctx, p, fn)
}

// run is the loop. It only ever calls fn, never stores it, so that fn (often
// a closure over the caller's variables) does not escape to the heap.
func run[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if p == nil {
		var zero T
		return zero, errNilPolicy
	}
	var start time.Time
	if p.maxElapsed > 0 {
		start = time.Now()
	}
	var (
		errs []error
		bo   backoff.BackOff
	)
	for attempt := 1; ; attempt++ {
		if err := contextDone(ctx); err != nil {
			var zero T
			return zero, p.giveUp(ctx, attempt-1, errs, err, outcomeCanceled)
		}

		actx, cancel := ctx, context.CancelFunc(nil)
		if p.attemptTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, p.attemptTimeout)
		}
		result, err := fn(actx)
		attemptTimedOut := false
		if cancel != nil {
			attemptTimedOut = actx.Err() != nil && ctx.Err() == nil
			cancel()
		}

		o := p.classify(ctx, func() any { return result }, err, attemptTimedOut)
		if o.err == nil && !o.retry {
			if p.budget != nil {
				p.budget.onSuccess()
			}
			p.metrics.call(outcomeSuccess)
			return result, nil
		}
		if p.budget != nil && o.retry {
			p.budget.onFailure() // only failures worth a retry: a 404 or a cancelled call says nothing of the dependency's health
		}
		errs = append(errs, o.err)

		if !o.retry {
			if ctx.Err() != nil {
				return result, p.giveUp(ctx, attempt, errs, ctx.Err(), outcomeCanceled)
			}
			return result, p.giveUp(ctx, attempt, errs, ErrNotRetryable, outcomeNotRetryable)
		}
		if attempt >= p.maxAttempts {
			return result, p.giveUp(ctx, attempt, errs, ErrMaxAttempts, outcomeMaxAttempts)
		}
		if bo == nil {
			bo = p.backoff.NewBackOff()
		}
		delay := bo.NextBackOff()
		if delay == backoff.Stop {
			return result, p.giveUp(ctx, attempt, errs, ErrBackoffStopped, outcomeBackoffStop)
		}
		delay = max(delay, min(o.after, p.maxRetryAfter), 0)
		if p.maxElapsed > 0 && time.Since(start)+delay > p.maxElapsed {
			return result, p.giveUp(ctx, attempt, errs, ErrMaxElapsed, outcomeMaxElapsed)
		}
		if p.budget != nil && !p.budget.allowRetry() {
			return result, p.giveUp(ctx, attempt, errs, ErrBudgetExhausted, outcomeBudget)
		}

		discardHTTPBody(result)
		p.noteRetry(ctx, attempt, o.err, delay)
		if err := sleep(ctx, delay); err != nil {
			return result, p.giveUp(ctx, attempt, errs, err, outcomeCanceled)
		}
	}
}

// contextDone returns ctx's error, or context.DeadlineExceeded once its
// deadline has come though ctx does not say so yet. A context's deadline
// ends it through a timer of its own: when a wait ends at the same instant,
// the wait's timer may be seen first, while ctx.Err() is still nil, and an
// attempt started then would reach the dependency with no time left.
func contextDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (p *Policy) noteRetry(ctx context.Context, attempt int, err error, delay time.Duration) {
	p.metrics.retry(ctx, delay.Seconds())
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("keel.retry", trace.WithAttributes(p.nameAttr,
			attribute.Int("keel.retry.attempt", attempt),
			attribute.Float64("keel.retry.delay", delay.Seconds())))
	}
	if p.logger.Enabled(ctx, slog.LevelDebug) { // the attributes cost an error string
		p.logger.LogAttrs(ctx, slog.LevelDebug, "retry: attempt failed, retrying",
			slog.String("policy", p.name), slog.Int("attempt", attempt),
			slog.Duration("delay", delay), slog.String("error", err.Error()))
	}
	if p.onRetry != nil {
		p.onRetry(attempt, err, delay)
	}
}

func (p *Policy) giveUp(ctx context.Context, attempts int, errs []error, reason error, outcome int) error {
	p.metrics.call(outcome)
	e := &Error{Attempts: attempts, Reason: reason, Errs: errs}
	if attempts > 1 && p.logger.Enabled(ctx, slog.LevelWarn) {
		p.logger.LogAttrs(ctx, slog.LevelWarn, "retry: giving up",
			slog.String("policy", p.name), slog.Int("attempts", attempts),
			slog.String("reason", outcomeNames[outcome]), slog.String("error", e.Error()))
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() && attempts > 1 {
		span.AddEvent("keel.retry.gave_up", trace.WithAttributes(p.nameAttr,
			attribute.Int("keel.retry.attempts", attempts), attribute.String("keel.retry.outcome", outcomeNames[outcome])))
	}
	return e
}

// orDiscard is the Logger a nil Config.Logger stands for: one that discards,
// set once here so that no call site tests for nil (docs/CONVENTIONS.md).
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
