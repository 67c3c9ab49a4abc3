package retry

import (
	"context"
	"errors"
	"time"
)

// Verdict is a Classifier's answer about one attempt.
type Verdict uint8

const (
	// Neutral means the classifier has no opinion; the default rules apply
	// (nil error: success; permanent or context error: stop; other errors: retry).
	Neutral Verdict = iota
	// Retry asks for another attempt, even when the error is nil (for example
	// an HTTP 503 response).
	Retry
	// Stop ends the call now: with a nil error it is a success, otherwise the
	// error is returned without further attempts.
	Stop
)

// String returns the verdict's lower-case name.
func (v Verdict) String() string {
	switch v {
	case Neutral:
		return "neutral"
	case Retry:
		return "retry"
	case Stop:
		return "stop"
	}
	return "unknown"
}

// Decision is what a Classifier returns.
type Decision struct {
	Verdict Verdict
	// After is a wait the dependency asked for (an HTTP Retry-After, say). When
	// positive it is a floor for the next delay, capped by Config.MaxRetryAfter.
	After time.Duration
}

// Classifier decides what an attempt's outcome means. result is the value the
// attempt returned (nil for Policy.Do; the T of Do[T] otherwise) and err its
// error. Two rules hold whatever a Classifier answers: an error made with
// Permanent stops, and once the caller's context is done nothing is retried.
type Classifier func(result any, err error) Decision

// Permanent marks err as not worth retrying: the loop stops and returns it.
// errors.Is and errors.As see through the mark. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfterHint is implemented by errors that know when a new attempt may
// succeed, such as breaker.OpenError. Matching a method rather than a type
// keeps this package independent of the one that defines the error.
type retryAfterHint interface {
	RetryAfter() time.Duration
}

// outcome is the loop's reading of one attempt once every rule has been applied.
type outcome struct {
	retry bool
	err   error         // the attempt's error, or ErrRetryableResult for a retried nil error
	after time.Duration // floor for the next delay, before the cap
}

// classify applies the hard rules, then the Classifier, then the defaults.
// attemptTimedOut is true when the per-attempt timeout (not the caller's
// context) ended the attempt: that is an attempt failure, worth retrying.
func (p *Policy) classify(ctx context.Context, result func() any, err error, attemptTimedOut bool) outcome {
	if ctx.Err() != nil {
		if err == nil {
			return outcome{}
		}
		return outcome{err: err}
	}
	if err != nil && IsPermanent(err) {
		return outcome{err: err}
	}
	if p.classifier != nil {
		d := p.classifier(result(), err)
		switch d.Verdict {
		case Retry:
			after := d.After
			if err == nil {
				err = ErrRetryableResult
			} else if after == 0 {
				after = hintedDelay(err)
			}
			return outcome{retry: true, err: err, after: after}
		case Stop:
			return outcome{err: err}
		}
	}
	if err == nil {
		return outcome{}
	}
	if !attemptTimedOut && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return outcome{err: err}
	}
	return outcome{retry: true, err: err, after: hintedDelay(err)}
}

// hintedDelay returns the wait an error asks for through RetryAfter, or zero.
func hintedDelay(err error) time.Duration {
	var hint retryAfterHint
	if errors.As(err, &hint) {
		return hint.RetryAfter()
	}
	return 0
}
