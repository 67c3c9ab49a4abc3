package fallback

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a Policy that answers with values of type T. The zero
// value of every field is a documented default.
type Config[T any] struct {
	// Name identifies the policy in metrics (keel.fallback.name), span events
	// and errors. Keep it low-cardinality. Default "default".
	Name string

	// Value is the answer when Func is nil: a constant such as an empty list,
	// a default price, a "pending" status. Default: the zero T.
	Value T

	// Func, when set, computes the answer instead of Value. It receives the
	// caller's context and the call's error, so that it can choose by cause
	// (serve a cached copy when the breaker is open, say). Its value and
	// error are returned; when its error is not nil, Do returns an *Error
	// that wraps both errors.
	Func func(ctx context.Context, err error) (T, error)

	// When reports whether the fallback answers an error. Default: every
	// error. Build one with On (errors.Is against a list of errors) or write
	// your own. Whatever When says, the fallback never answers a caller whose
	// context is done: nobody is waiting for the answer.
	When func(err error) bool

	// MeterProvider for the keel.fallback.* instruments; nil means otel's
	// global (a no-op until the application installs one). A
	// noop.MeterProvider switches measurement off entirely.
	MeterProvider metric.MeterProvider
}

// On returns a Config.When that answers an error matching (errors.Is) any of
// targets, for example
//
//	fallback.On(breaker.ErrOpen, ratelimit.ErrLimited, timeout.ErrExceeded)
//
// so that the fallback answers when the dependency is known to be unavailable
// but not, say, when the request was invalid. On() answers nothing.
func On(targets ...error) func(error) bool {
	targets = append([]error(nil), targets...) // the caller's slice may change
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

// Policy answers a failed call with a fallback value. It holds no per-call
// state and is safe for concurrent use.
type Policy[T any] struct {
	name    string
	value   T
	fn      func(context.Context, error) (T, error)
	when    func(error) bool
	metrics *instruments
	attrs   trace.EventOption
}

// New returns a Policy, or an error naming the invalid Config field.
func New[T any](cfg Config[T]) (*Policy[T], error) {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	p := &Policy[T]{
		name:  cfg.Name,
		value: cfg.Value,
		fn:    cfg.Func,
		when:  cfg.When,
		attrs: trace.WithAttributes(attribute.String("keel.fallback.name", cfg.Name)),
	}
	in, err := newInstruments(cfg.MeterProvider, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("fallback: Config.MeterProvider: %w", err)
	}
	p.metrics = in
	unregisterWhenCollected(in, p)
	return p, nil
}

// Name returns the policy's name.
func (p *Policy[T]) Name() string { return p.name }

// Do calls fn and, when it fails with an error the policy answers, returns
// the fallback's error instead (nil for Value, or Func's error). The
// fallback's value is dropped: use the function Do to receive it.
func (p *Policy[T]) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := run(ctx, p, func(ctx context.Context) (T, error) {
		var zero T
		return zero, fn(ctx)
	})
	return err
}

// Do calls fn and returns its result, or, when fn fails with an error the
// policy answers, the fallback's answer. A done context runs nothing and
// returns its error.
func Do[T any](ctx context.Context, p *Policy[T], fn func(ctx context.Context) (T, error)) (T, error) {
	return run(ctx, p, fn)
}

// run only ever calls fn, never stores it, so that fn does not escape.
func run[T any](ctx context.Context, p *Policy[T], fn func(context.Context) (T, error)) (T, error) {
	if p == nil {
		var zero T
		return zero, errNilPolicy
	}
	if err := ctx.Err(); err != nil {
		p.metrics.count(outcomeCanceled)
		var zero T
		return zero, err
	}
	v, err := fn(ctx)
	switch {
	case err == nil:
		p.metrics.count(outcomeSuccess)
		return v, nil
	case ctx.Err() != nil:
		p.metrics.count(outcomeCanceled)
		return v, err
	case p.when != nil && !p.when(err):
		p.metrics.count(outcomeFailure)
		return v, err
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("keel.fallback", p.attrs)
	}
	if p.fn == nil {
		p.metrics.count(outcomeFallback)
		return p.value, nil
	}
	fv, ferr := p.fn(ctx, err)
	if ferr != nil {
		p.metrics.count(outcomeFallbackFailed)
		return fv, &Error{Name: p.name, Err: err, FallbackErr: ferr}
	}
	p.metrics.count(outcomeFallback)
	return fv, nil
}
