package health

import (
	"context"
	"errors"
	"time"
)

// Result is the outcome of one run of a check.
type Result struct {
	// Check is the check's name.
	Check string
	// Status is pass, warn or fail.
	Status Status
	// Err is what the check returned (nil on pass).
	Err error
	// Duration is how long the run took.
	Duration time.Duration
	// Time is when the run finished.
	Time time.Time
}

// statusOf maps a check's error to its status.
func statusOf(err error, nonCritical bool) Status {
	switch {
	case err == nil:
		return StatusPass
	case IsWarning(err) || nonCritical:
		return StatusWarn
	default:
		return StatusFail
	}
}

// run executes c once within its timeout. The check runs on its own
// goroutine so that a Func ignoring ctx cannot hold the probe past the
// timeout; the goroutine ends when the Func returns.
func run(ctx context.Context, c *Check) Result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- panicError{p}
			}
		}()
		done <- c.Func(ctx)
	}()
	var err error
	select {
	case err = <-done:
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = ErrTimeout
		}
	case <-ctx.Done():
		err = ErrTimeout
		if errors.Is(ctx.Err(), context.Canceled) {
			err = ctx.Err()
		}
	}
	end := time.Now()
	return Result{Check: c.Name, Status: statusOf(err, c.NonCritical), Err: err, Duration: end.Sub(start), Time: end}
}

// panicError reports a check that panicked; the panic is contained.
type panicError struct{ value any }

func (p panicError) Error() string { return "health: check panicked" }
