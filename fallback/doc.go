// Package fallback answers a failed call with something useful instead of the
// error: a default value, a cached copy, a degraded result computed from the
// error.
//
// Use it where a reasonable answer exists without the dependency — a product
// page without recommendations, yesterday's exchange rate, an order accepted
// as "payment pending" — and only for the failures that mean "unavailable"
// (breaker open, rate limited, timed out), not for a request the dependency
// rejected as invalid.
//
//	p, err := fallback.New(fallback.Config[[]Product]{
//		Name:  "recommendations",
//		Value: nil, // no recommendations rather than an error page
//		When:  fallback.On(breaker.ErrOpen, ratelimit.ErrLimited, timeout.ErrExceeded),
//	})
//	...
//	recs, err := fallback.Do(ctx, p, func(ctx context.Context) ([]Product, error) { return recommender.For(ctx, user) })
//
// Put a fallback outermost, around the retry, breaker and timeouts: inside a
// retry it would hide the failures the retry exists to repeat, and inside a
// breaker it would hide them from the breaker's count (resilience.With checks
// this order).
//
// # Guarantees
//
// Answers: a call that succeeds is returned untouched and the fallback does
// not run. A call that fails with an error When answers (every error, by
// default) returns Config.Value with a nil error, or what Config.Func returns.
// An error When does not answer is returned untouched (errors.Is and
// errors.As see it as before). If Func fails too, Do returns an *Error that
// wraps both errors. A caller whose context is done is never answered: its
// error is returned, and nothing runs when the context is done before the
// call.
//
// Visibility: each answer is counted (keel.fallback.calls with outcome
// fallback) and adds an event keel.fallback to the caller's span when it is
// recording, so that a dashboard shows how often users got the degraded
// answer.
//
// Concurrency: a Policy is safe for concurrent use and starts no goroutine.
// Config.Value is returned as it is to every caller: if it is a map, slice or
// pointer, callers share it and must not modify it (use Func to return a
// fresh one).
//
// Bad input: New returns an error naming the invalid Config field; nothing a
// caller passes makes the package panic. A panic in fn or Func is not
// recovered.
//
// Cost: a call that succeeds allocates nothing and adds one atomic increment.
//
// # Telemetry
//
// Instrument (scope github.com/keel-go/keel/fallback): keel.fallback.calls, by
// outcome (success, fallback, fallback_failed, failure, canceled); see
// docs/METRICS.md.
package fallback
