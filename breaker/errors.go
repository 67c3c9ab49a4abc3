package breaker

import (
	"errors"
	"fmt"
	"time"
)

// ErrOpen is matched (errors.Is) by every rejection.
var ErrOpen = errors.New("breaker: open")

// OpenError is the error of a rejected call. It wraps ErrOpen and says when a
// call may be let through again.
type OpenError struct {
	// Name is the breaker's name.
	Name string
	// State is Open, HalfOpen (all probe slots busy) or ForcedOpen.
	State State
	// RetryAt is when the breaker will let a probe through: the end of the
	// break for Open, the time of rejection for HalfOpen (a slot frees when a
	// probe finishes), and zero for ForcedOpen (only an operator reopens it).
	RetryAt time.Time
}

// Error names the breaker and its state, and when to retry.
func (e *OpenError) Error() string {
	switch e.State {
	case Open:
		return fmt.Sprintf("breaker: %q is open until %s", e.Name, e.RetryAt.UTC().Format(time.RFC3339Nano))
	case HalfOpen:
		return fmt.Sprintf("breaker: %q is half-open and all probe slots are busy", e.Name)
	case ForcedOpen:
		return fmt.Sprintf("breaker: %q is forced open", e.Name)
	}
	return fmt.Sprintf("breaker: %q rejected the call (%s)", e.Name, e.State)
}

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// RetryAfter is how long until RetryAt, or zero when RetryAt is zero or past.
// Retry policies (such as Keel's retry package) use it as a floor for their
// next delay.
func (e *OpenError) RetryAfter() time.Duration {
	if e.RetryAt.IsZero() {
		return 0
	}
	return max(time.Until(e.RetryAt), 0)
}

// errPanicked is the outcome recorded for a call whose function panicked.
var errPanicked = errors.New("breaker: the call panicked")
