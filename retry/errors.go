package retry

import (
	"errors"
	"fmt"
	"strings"
)

// Reasons a call gave up, matched with errors.Is on the error Do returns.
var (
	// ErrMaxAttempts: Config.MaxAttempts attempts ran and all failed.
	ErrMaxAttempts = errors.New("retry: max attempts reached")
	// ErrMaxElapsed: the next attempt would start after Config.MaxElapsedTime,
	// counted from the start of the first attempt.
	ErrMaxElapsed = errors.New("retry: max elapsed time reached")
	// ErrNotRetryable: the last error was permanent or classified Stop.
	ErrNotRetryable = errors.New("retry: error is not retryable")
	// ErrBudgetExhausted: the shared Budget refused a retry.
	ErrBudgetExhausted = errors.New("retry: retry budget exhausted")
	// ErrBackoffStopped: the backoff returned backoff.Stop.
	ErrBackoffStopped = errors.New("retry: backoff stopped")
	// ErrRetryableResult stands for an attempt that returned a nil error but a
	// result the Classifier asked to retry (an HTTP 503 response, say).
	ErrRetryableResult = errors.New("retry: result classified as retryable")
)

// Error is returned when a call fails. It records how many attempts ran, why
// the loop stopped and every attempt's error; errors.Is and errors.As match
// the reason, the context's error when it ended the call, and any attempt's error.
type Error struct {
	// Attempts is how many times the function was called (at least 0: a
	// context already done before the first attempt gives 0).
	Attempts int
	// Reason is one of the Err* sentinels above, or the context's error.
	Reason error
	// Errs holds each attempt's error in order; len(Errs) == Attempts.
	Errs []error
}

// Error says how many attempts ran, why the loop stopped, and the last error.
func (e *Error) Error() string {
	noun := "attempts"
	if e.Attempts == 1 {
		noun = "attempt"
	}
	reason := "<nil>"
	if e.Reason != nil {
		reason = strings.TrimPrefix(e.Reason.Error(), "retry: ")
	}
	if len(e.Errs) == 0 {
		return fmt.Sprintf("retry: gave up after %d %s (%s)", e.Attempts, noun, reason)
	}
	return fmt.Sprintf("retry: gave up after %d %s (%s): %v", e.Attempts, noun, reason, e.Errs[len(e.Errs)-1])
}

// Unwrap returns the reason followed by every attempt's error.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, len(e.Errs)+1)
	if e.Reason != nil {
		out = append(out, e.Reason)
	}
	return append(out, e.Errs...)
}

// Last returns the last attempt's error, or nil when no attempt ran.
func (e *Error) Last() error {
	if len(e.Errs) == 0 {
		return nil
	}
	return e.Errs[len(e.Errs)-1]
}
