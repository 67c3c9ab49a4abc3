package ratelimit

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
	"golang.org/x/time/rate"
)

// waitReservation blocks until r's token is due, honouring ctx. A wait that
// could not finish before ctx's deadline is refused at once (and the token
// handed back) with a *LimitedError rather than sleeping until the deadline
// and failing then. Cancellation stops the wait at once and returns ctx.Err().
func waitReservation(ctx context.Context, tel *telemetry, r *rate.Reservation, now time.Time) error {
	if !r.OK() {
		// Only possible when a take exceeds the burst, which one unit never does
		// because Burst >= 1 is enforced by New.
		return &LimitedError{Limiter: tel.name}
	}
	delay := r.DelayFrom(now)
	if delay == 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && deadline.Sub(now) < delay {
		r.CancelAt(now)
		tel.recordWait(ctx, 0, decisionLimited)
		return &LimitedError{Limiter: tel.name, RetryAfter: delay}
	}
	if err := ctx.Err(); err != nil {
		r.CancelAt(now)
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
		r.Cancel()
		tel.recordWait(ctx, time.Since(now), decisionCanceled)
		span.SetStatus(codes.Error, "canceled")
		return ctx.Err()
	}
}
