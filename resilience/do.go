package resilience

import (
	"context"
	"fmt"
	"reflect"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

// Do runs fn through every policy of the pipeline, the first outermost.
// errors.Is and errors.As find every policy's error and fn's own.
func (p *Pipeline) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	if p == nil {
		return errNilPipeline
	}
	_, err := call[untyped](ctx, p.layers, false, errFunc(fn))
	return err
}

// untyped is the value type of Pipeline.Do, which a fallback of any type may
// answer (its value is dropped).
type untyped struct{}

// attempt is the call at the centre of a pipeline. Pipeline.Do passes its
// function as an errFunc rather than wrap it in a closure: a closure would
// be moved to the heap on every call (the pipeline's functions may run on a
// hedge's goroutines), a conversion is not.
type attempt[T any] interface {
	call(ctx context.Context) (T, error)
}

type valueFunc[T any] func(ctx context.Context) (T, error)

func (f valueFunc[T]) call(ctx context.Context) (T, error) { return f(ctx) }

type errFunc func(ctx context.Context) error

func (f errFunc) call(ctx context.Context) (untyped, error) { return untyped{}, f(ctx) }

// Do runs fn through every policy of p and returns its value. Each policy
// applies its typed form: a retry returns the last attempt's value, a hedge
// the winner's, a fallback its answer. A fallback in p must answer values
// of type T (a *fallback.Policy[T]); for another type Do returns an error
// without calling fn.
//
// fn may run several times, and with a hedge in p several times at once: it
// must be safe for that.
func Do[T any](ctx context.Context, p *Pipeline, fn func(ctx context.Context) (T, error)) (T, error) {
	if p == nil {
		var zero T
		return zero, errNilPipeline
	}
	return call[T](ctx, p.layers, false, valueFunc[T](fn))
}

// call applies ls[0] around the call of the rest. once leaves out the
// policies that repeat a call (retry, hedge), for a call that must not be
// repeated (an HTTP request whose body cannot be sent twice).
//
// Each case builds its own closure: a closure shared by every case would
// escape to the heap because of the hedge's goroutines, even on pipelines
// without a hedge.
func call[T any, A attempt[T]](ctx context.Context, ls []layer, once bool, fn A) (T, error) {
	if len(ls) == 0 {
		return fn.call(ctx)
	}
	l, rest := &ls[0], ls[1:]
	switch l.kind {
	case kindRetry:
		if once {
			return call[T](ctx, rest, once, fn)
		}
		return retry.Do(ctx, l.retry, func(ctx context.Context) (T, error) { return call[T](ctx, rest, once, fn) })
	case kindBreaker:
		return breaker.Do(ctx, l.breaker, func(ctx context.Context) (T, error) { return call[T](ctx, rest, once, fn) })
	case kindTimeout:
		return timeout.Do(ctx, l.timeout, func(ctx context.Context) (T, error) { return call[T](ctx, rest, once, fn) })
	case kindHedge:
		if once {
			return call[T](ctx, rest, once, fn)
		}
		return hedge.Do(ctx, l.hedge, func(ctx context.Context) (T, error) { return call[T](ctx, rest, once, fn) })
	case kindLimit:
		// The concrete Do methods, not ratelimit.Do: calling through its
		// Guard interface would move the closure and the value to the heap.
		var out T
		inner := func(ctx context.Context) error {
			v, err := call[T](ctx, rest, once, fn)
			out = v
			return err
		}
		var err error
		switch {
		case l.limiter != nil:
			err = l.limiter.Do(ctx, inner)
		case l.adaptive != nil:
			err = l.adaptive.Do(ctx, inner)
		default:
			err = l.bulkhead.Do(ctx, inner)
		}
		return out, err
	case kindFallback:
		if f, ok := l.policy.(*fallback.Policy[T]); ok {
			return fallback.Do(ctx, f, func(ctx context.Context) (T, error) { return call[T](ctx, rest, once, fn) })
		}
		var zero T
		if _, ok := any(zero).(untyped); !ok {
			return zero, fmt.Errorf("resilience: %T answers another type than %v, the type Do was called for", l.policy, reflect.TypeFor[T]())
		}
	}
	// A policy of the caller's own (or a fallback under Pipeline.Do): its
	// untyped Do, with the value carried in a variable.
	var out T
	err := l.policy.Do(ctx, func(ctx context.Context) error {
		v, err := call[T](ctx, rest, once, fn)
		out = v
		return err
	})
	return out, err
}
