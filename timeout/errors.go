package timeout

import (
	"errors"
	"fmt"
	"time"
)

// ErrExceeded is matched (errors.Is) by every *ExceededError.
var ErrExceeded = errors.New("timeout: exceeded")

// ExceededError is the error of a call that a Policy's deadline ended. It
// names the policy and its duration. A Policy returns the same *ExceededError
// value for every call it ends, so that ending a call allocates nothing;
// treat it as read-only.
//
// It matches ErrExceeded under errors.Is, and deliberately not
// context.DeadlineExceeded: that error means the caller's own deadline, which
// nothing should retry, while an ExceededError is one call that took too long,
// which a retry may repeat and a breaker counts as a failure. Keel's retry
// retries it and Keel's breaker counts it as a failure, by default, with no
// configuration. Its Timeout method reports true, as a net.Error's does.
type ExceededError struct {
	// Name is the policy's Config.Name.
	Name string
	// Duration is the policy's Config.Timeout.
	Duration time.Duration
}

// Error names the policy and its duration.
func (e *ExceededError) Error() string {
	return fmt.Sprintf("timeout: %q exceeded %s", e.Name, e.Duration)
}

// Is makes errors.Is(err, ErrExceeded) true.
func (e *ExceededError) Is(target error) bool { return target == ErrExceeded }

// Timeout reports true: the error is a timeout, in the sense of net.Error.
func (e *ExceededError) Timeout() bool { return true }
