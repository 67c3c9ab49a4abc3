package idempotency

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrInProgress: another request holds the key and has not finished.
	// Returned wrapped in an *InProgressError that says when to retry.
	ErrInProgress = errors.New("idempotency: a request with this key is in progress")
	// ErrMismatch: the key was already used for a request with different
	// content (another fingerprint).
	ErrMismatch = errors.New("idempotency: key reused with a different request")
	// ErrLeaseLost: Complete or Release was called by a holder whose lease
	// expired (and may have been taken over); nothing was changed.
	ErrLeaseLost = errors.New("idempotency: lease lost")
	// ErrInvalidKey: the key or scope is empty, too long, or (for the HTTP
	// header) not a valid Idempotency-Key field value.
	ErrInvalidKey = errors.New("idempotency: invalid key")
	// ErrStore: the store failed; the underlying error is wrapped too.
	ErrStore = errors.New("idempotency: store failed")
)

// InProgressError is returned when another holder's lease is live.
// errors.Is(err, ErrInProgress) is true.
type InProgressError struct {
	// RetryAfter is the time left on the other holder's lease: after it, the
	// key is either completed or free again.
	RetryAfter time.Duration
}

func (e *InProgressError) Error() string {
	return fmt.Sprintf("%s (retry after %s)", ErrInProgress.Error(), e.RetryAfter.Round(time.Millisecond))
}

// Unwrap makes errors.Is(err, ErrInProgress) true.
func (e *InProgressError) Unwrap() error { return ErrInProgress }

// storeError wraps a store failure so that errors.Is matches both ErrStore and
// the store's own error.
func storeError(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
}
