package idempotency

import (
	"context"
	"errors"
)

// Do runs fn at most once per (scope, key) with a successful outcome: the
// first call runs fn and stores its Outcome; later calls with the same
// fingerprint return the stored Outcome with replayed true and do not run
// fn. When fn returns an error the key is released (nothing is stored, a
// later call runs fn again) and the error is returned.
//
// Errors: those of Begin (*InProgressError, ErrMismatch, ErrInvalidKey,
// ErrStore), fn's error, and ErrLeaseLost when fn outlived the lease (its
// outcome is then returned but not stored).
func (m *Manager) Do(ctx context.Context, scope, key string, fingerprint []byte,
	fn func(ctx context.Context) (Outcome, error)) (out Outcome, replayed bool, err error) {
	if m == nil {
		return Outcome{}, false, errNilManager
	}
	begun, err := m.Begin(ctx, scope, key, fingerprint)
	if err != nil {
		return Outcome{}, false, err
	}
	if begun.Replayed {
		return begun.Outcome, true, nil
	}
	ended := false
	defer func() {
		if !ended { // fn panicked: free the key, let the panic continue
			_ = m.Release(context.WithoutCancel(ctx), begun.Lease)
		}
	}()
	out, err = fn(ctx)
	ended = true
	if err != nil {
		if rerr := m.Release(context.WithoutCancel(ctx), begun.Lease); rerr != nil && !errors.Is(rerr, ErrLeaseLost) {
			return Outcome{}, false, errors.Join(err, rerr)
		}
		return Outcome{}, false, err
	}
	if err := m.Complete(context.WithoutCancel(ctx), begun.Lease, out); err != nil {
		return out, false, err
	}
	return out, false, nil
}
