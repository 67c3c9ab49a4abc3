package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// ErrLimited is returned (wrapped) whenever a limiter refuses a call: the
// rate is exhausted, every concurrency slot is taken and the queue is full,
// or a queued call waited longer than its maximum wait. Match it with
// errors.Is; use errors.As with *LimitedError to learn when to retry.
var ErrLimited = errors.New("ratelimit: limited")

// ErrInvalidCost is returned (wrapped) by TakeN when the cost is below 1 or
// above the limiter's smallest Burst: such a call could never be granted,
// so it is a caller's mistake rather than a refusal.
var ErrInvalidCost = errors.New("ratelimit: invalid cost")

// LimitedError is the error a limiter returns when it refuses a call. It
// matches ErrLimited under errors.Is.
type LimitedError struct {
	// Limiter is the Name of the limiter that refused the call.
	Limiter string
	// RetryAfter is how long to wait before the same call can succeed, or 0
	// when that is not known (a concurrency limiter cannot know when a slot
	// frees up).
	RetryAfter time.Duration
}

// Error describes the refusal, with the retry delay when it is known.
func (e *LimitedError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("ratelimit: %q limited, retry after %s", e.Limiter, e.RetryAfter)
	}
	return fmt.Sprintf("ratelimit: %q limited", e.Limiter)
}

// Is makes errors.Is(err, ErrLimited) true for every *LimitedError.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }
