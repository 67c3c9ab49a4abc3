package breaker

import (
	"context"
	"errors"
)

// Outcome is how a finished call counts.
type Outcome uint8

const (
	// Success counts towards closing (half-open) and lowers the failure rate.
	Success Outcome = iota
	// Failure counts towards opening.
	Failure
	// Ignored is not counted at all (it still frees a half-open probe slot).
	Ignored
)

// String returns success, failure or ignored.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignored:
		return "ignored"
	}
	return "unknown"
}

// Classifier maps a call's error to an Outcome.
type Classifier func(err error) Outcome

// DefaultClassifier counts nil as Success, a cancelled context as Ignored (the
// caller gave up; the dependency did nothing wrong) and any other error,
// context.DeadlineExceeded included, as Failure.
func DefaultClassifier(err error) Outcome {
	switch {
	case err == nil:
		return Success
	case errors.Is(err, context.Canceled):
		return Ignored
	}
	return Failure
}
