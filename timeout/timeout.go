package timeout

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a Policy. The zero value of every field but Timeout is a
// documented default.
type Config struct {
	// Name identifies the policy in errors (ExceededError.Name), metrics
	// (keel.timeout.name) and span events. Keep it low-cardinality: the
	// dependency or operation, never a URL or a user id. Default "default".
	Name string

	// Timeout is the most a call may take. Required: it must be > 0.
	Timeout time.Duration

	// MeterProvider for the keel.timeout.* instruments; nil means otel's
	// global (a no-op until the application installs one). A
	// noop.MeterProvider switches measurement off entirely.
	MeterProvider metric.MeterProvider
}

// Policy gives each call a deadline. It holds no per-call state, so one
// Policy is safe to share across goroutines.
type Policy struct {
	name     string
	timeout  time.Duration
	exceeded *ExceededError // returned for every call the deadline ends: immutable, shared
	metrics  *instruments
	attrs    trace.EventOption
}

// New returns a Policy, or an error naming the first invalid Config field.
func New(cfg Config) (*Policy, error) {
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("timeout: Config.Timeout must be > 0, got %v", cfg.Timeout)
	}
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	p := &Policy{
		name:     cfg.Name,
		timeout:  cfg.Timeout,
		exceeded: &ExceededError{Name: cfg.Name, Duration: cfg.Timeout},
		attrs: trace.WithAttributes(attribute.String("keel.timeout.name", cfg.Name),
			attribute.Float64("keel.timeout.timeout", cfg.Timeout.Seconds())),
	}
	in, err := newInstruments(cfg.MeterProvider, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("timeout: Config.MeterProvider: %w", err)
	}
	p.metrics = in
	in.unregisterWhenCollected(p)
	return p, nil
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Timeout returns the policy's duration.
func (p *Policy) Timeout() time.Duration { return p.timeout }

// Do calls fn with a context that ends Config.Timeout from now (or at the
// caller's deadline, if that comes first). When the policy's deadline ends
// the call, Do returns the policy's *ExceededError, whatever fn returned.
func (p *Policy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := run(ctx, p, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// Do is Policy.Do for functions that return a value. A value fn returns after
// the deadline is discarded (an *http.Response has its body closed) and the
// zero T is returned with the *ExceededError.
//
// When fn returns an *http.Response in time, with or without an error, the
// deadline also covers reading its body, as http.Client.Timeout does: the
// call's context is released when the body is read to its end or closed, so
// close it as always.
func Do[T any](ctx context.Context, p *Policy, fn func(ctx context.Context) (T, error)) (T, error) {
	return run(ctx, p, fn)
}

// run only ever calls fn, never stores it, so that fn (usually a closure over
// the caller's variables) does not escape to the heap.
func run[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if p == nil {
		var zero T
		return zero, errNilPolicy
	}
	if err := ctx.Err(); err != nil {
		p.metrics.count(outcomeCanceled)
		var zero T
		return zero, err
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= p.timeout {
		// The caller's deadline comes first, so this policy's could never
		// fire: the call runs under the caller's context, and no child
		// context (the whole cost of a timeout) is made.
		v, err := fn(ctx)
		p.metrics.count(outcomeOf(ctx, err))
		return v, err
	}
	cctx, cancel := context.WithTimeoutCause(ctx, p.timeout, p.exceeded)
	v, err := fn(cctx)
	if cctx.Err() != nil && context.Cause(cctx) == p.exceeded {
		cancel()
		discard(&v)
		p.noteExceeded(ctx)
		var zero T
		return zero, p.exceeded
	}
	// A response comes with an error too (a retry inside gives up on a 503
	// and returns it, to be handed to the caller as the server's answer): its
	// body must stay readable after Do returns, so it keeps the context as a
	// successful response does.
	if !cancelWithBody(&v, cancel) {
		cancel()
	}
	p.metrics.count(outcomeOf(ctx, err))
	return v, err
}

func outcomeOf(ctx context.Context, err error) int {
	switch {
	case err == nil:
		return outcomeSuccess
	case ctx.Err() != nil:
		return outcomeCanceled
	}
	return outcomeFailure
}

// noteExceeded counts a call the deadline ended and, when the caller's span
// is recording, adds an event to it (the package starts no span of its own).
func (p *Policy) noteExceeded(ctx context.Context) {
	p.metrics.count(outcomeExceeded)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("keel.timeout.exceeded", p.attrs)
	}
}
