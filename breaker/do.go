package breaker

import (
	"context"
	"sync/atomic"
)

// Do runs fn if the breaker admits the call, and counts its outcome. A
// rejected call returns an *OpenError (errors.Is(err, ErrOpen)) without
// running fn; a context already done returns its error without running fn.
// If fn panics, the call counts as a failure and the panic continues.
func (b *Breaker) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	if b == nil {
		return errNilBreaker
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.allow()
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished {
			b.done(p, errPanicked)
		}
	}()
	err = fn(ctx)
	finished = true
	b.done(p, err)
	return err
}

// Do is Breaker.Do for functions that return a value.
func Do[T any](ctx context.Context, b *Breaker, fn func(ctx context.Context) (T, error)) (T, error) {
	if b == nil {
		var zero T
		return zero, errNilBreaker
	}
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	p, err := b.allow()
	if err != nil {
		return zero, err
	}
	finished := false
	defer func() {
		if !finished {
			b.done(p, errPanicked)
		}
	}()
	v, err := fn(ctx)
	finished = true
	b.done(p, err)
	return v, err
}

// Allow is the two-step form for code that cannot be wrapped in a function
// (an http.RoundTripper, a stream): it admits a call or returns an
// *OpenError, and the caller must call done exactly once with the call's
// error when the call ends. Calls of done after the first do nothing, so
// done is safe to call from a deferred cleanup as well as on the normal path.
// Unlike Do, Allow allocates the done function.
func (b *Breaker) Allow() (done func(err error), err error) {
	if b == nil {
		return nil, errNilBreaker
	}
	p, err := b.allow()
	if err != nil {
		return nil, err
	}
	var called atomic.Bool
	return func(err error) {
		if called.CompareAndSwap(false, true) {
			b.done(p, err)
		}
	}, nil
}
