package ratelimit

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
)

// waitDelay blocks for delay, the time until a unit taken at now is due,
// honouring ctx. A wait that could not finish before ctx's deadline is
// refused at once (and the unit handed back through cancel) with a
// *LimitedError rather than sleeping until the deadline and failing then.
// Cancellation stops the wait at once, hands the unit back and returns
// ctx.Err().
func waitDelay(ctx context.Context, tel *telemetry, delay time.Duration, now time.Time, cancel func(at time.Time)) error {
	if delay == 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && deadline.Sub(now) < delay {
		cancel(now)
		tel.recordWait(ctx, 0, decisionLimited)
		return &LimitedError{Limiter: tel.name, RetryAfter: delay}
	}
	if err := ctx.Err(); err != nil {
		cancel(now)
		return err
	}
	ctx, span := tel.startWait(ctx, "wait")
	defer span.End()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		tel.recordWait(ctx, delay, decisionAllowed)
		return nil
	case <-ctx.Done():
		cancel(time.Now())
		tel.recordWait(ctx, time.Since(now), decisionCanceled)
		span.SetStatus(codes.Error, "canceled")
		return ctx.Err()
	}
}
