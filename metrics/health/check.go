package health

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Status is a health status as the IETF draft "Health Check Response Format
// for HTTP APIs" spells it.
type Status string

const (
	// StatusPass: healthy.
	StatusPass Status = "pass"
	// StatusWarn: healthy, with a concern (a non-critical check failed, or a
	// check reported a [Warn]ing).
	StatusWarn Status = "warn"
	// StatusFail: unhealthy; the endpoint answers 503.
	StatusFail Status = "fail"
)

// DefaultTimeout bounds a check whose Timeout is zero. It is below
// Kubernetes' default 1 s probe timeout so that an on-demand check answers
// before the kubelet gives up on the probe.
const DefaultTimeout = 800 * time.Millisecond

// Kind says which endpoint a check belongs to.
type Kind int

const (
	// Readiness checks (the zero value) decide /readyz: can this instance
	// serve traffic now (database, Redis, disk …)?
	Readiness Kind = iota
	// Liveness checks decide /livez: is the process itself wedged? They must
	// not touch dependencies, or an outage restarts every instance at once.
	Liveness
)

func (k Kind) String() string {
	if k == Liveness {
		return "livez"
	}
	return "readyz"
}

// Check is one named health check.
type Check struct {
	// Name identifies the check in responses, ?exclude= and metrics. It must
	// be 1–63 characters of [A-Za-z0-9_.-] and unique in the registry.
	Name string
	// Func reports the dependency's health: nil is pass, an error wrapped by
	// [Warn] is warn, any other error is fail. It must honour ctx; a Func
	// that ignores its deadline is abandoned at the timeout (and reported as
	// failed) but keeps running until it returns.
	Func func(ctx context.Context) error
	// Kind is Readiness (default) or Liveness.
	Kind Kind
	// NonCritical makes a failure report warn instead of fail, so it does not
	// take the instance out of rotation (a cache, a best-effort exporter).
	NonCritical bool
	// ComponentType is the draft's componentType: "datastore", "system",
	// "component" or a URI. Zero means "component".
	ComponentType string
	// Timeout bounds one run. Zero means DefaultTimeout.
	Timeout time.Duration
	// Interval, when positive, runs the check in the background every
	// Interval (first run at registration) and lets the endpoints serve the
	// cached result; use it for expensive checks or frequent probes. Zero
	// runs the check on every request. Until its first run completes a
	// background check reports fail.
	Interval time.Duration
}

func (c *Check) validate() error {
	if c.Name == "" || len(c.Name) > 63 {
		return fmt.Errorf("health: Check.Name must be 1-63 characters, got %q", c.Name)
	}
	for _, r := range c.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fmt.Errorf("health: Check.Name must be [A-Za-z0-9_.-], got %q", c.Name)
		}
	}
	if c.Func == nil {
		return fmt.Errorf("health: Check.Func of %q must not be nil", c.Name)
	}
	if c.Kind != Readiness && c.Kind != Liveness {
		return fmt.Errorf("health: Check.Kind of %q must be Readiness or Liveness, got %d", c.Name, int(c.Kind))
	}
	if c.Timeout < 0 {
		return fmt.Errorf("health: Check.Timeout of %q must be >= 0, got %v", c.Name, c.Timeout)
	}
	if c.Interval < 0 {
		return fmt.Errorf("health: Check.Interval of %q must be >= 0, got %v", c.Name, c.Interval)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ComponentType == "" {
		c.ComponentType = "component"
	}
	return nil
}

// warning marks an error as a warning.
type warning struct{ err error }

func (w warning) Error() string { return w.err.Error() }
func (w warning) Unwrap() error { return w.err }

// Warn marks err so that the check reports warn rather than fail: the
// dependency works but needs attention (disk nearly full, backup getting
// old). Warn(nil) is nil.
func Warn(err error) error {
	if err == nil {
		return nil
	}
	return warning{err}
}

// IsWarning reports whether err was marked by [Warn].
func IsWarning(err error) bool {
	var w warning
	return errors.As(err, &w)
}

// ErrTimeout is reported when a check does not finish within its Timeout.
var ErrTimeout = errors.New("health: check timed out")

// errNotYetRun is the result of a background check before its first run.
var errNotYetRun = errors.New("health: check has not completed its first run")
