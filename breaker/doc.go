// Package breaker is a circuit breaker: it stops calling a dependency that is
// failing, so that the dependency can recover and callers fail fast instead
// of queueing behind timeouts, then lets a few probe calls through to find out
// when it is healthy again.
//
// Use one Breaker per dependency (per host, per database), shared by every
// goroutine that calls it. Put a retry outside the breaker, not inside: retries
// inside would count every attempt as a separate failure and open the breaker
// early, while a retry outside sees the breaker's *OpenError and, through its
// RetryAfter method, waits for the break to end.
//
//	b, err := breaker.New(breaker.Config{Name: "payments", FailureRate: 0.5, OpenDuration: 30 * time.Second})
//	...
//	err = b.Do(ctx, func(ctx context.Context) error { return payments.Charge(ctx, order) })
//	if errors.Is(err, breaker.ErrOpen) { /* fail fast, serve a fallback */ }
//
// # States
//
// Closed lets calls through and counts outcomes. Any configured trip condition
// opens it: ConsecutiveFailures in a row; FailureRate or SlowCallRate over a
// sliding window (the last WindowSize calls, or the calls of the last
// WindowDuration) once it holds MinimumCalls calls. Open rejects every call
// until the break (OpenDuration, or BreakDuration(openCount) to let it grow)
// ends; the next call then moves it to HalfOpen, which lets HalfOpenProbes
// probe calls run at once: HalfOpenSuccesses successful probes close it, any
// failed (or, with SlowCallRate, slow) probe opens it again. Operators can
// force it: Open isolates the dependency (ForcedOpen, every call rejected),
// Disable lets everything through uncounted, Reset returns to Closed.
//
// Reset (formerly Close, which is kept but deprecated) changes the state
// only: a Breaker holds no resources and has nothing to close. Unlike
// Close elsewhere in Keel, a deferred b.Close() would reset the breaker.
//
// A Classifier maps each error to Success, Failure or Ignored; by default a
// cancelled context is ignored, since the caller gave up, not the dependency.
//
// # Guarantees
//
// Concurrency: a Breaker is safe for concurrent use and starts no goroutine.
// Each state change starts a new generation; an outcome that arrives from a
// call admitted in an earlier generation is not counted, so a slow call that
// began before the breaker opened cannot reopen it after it closed. The
// half-open probe limit holds under any concurrency. State-change listeners
// run outside any lock, one at a time, in the order the changes happened; a
// listener may call the breaker, even change its state, without deadlock.
//
// Faults: a rejected call returns an *OpenError, which wraps ErrOpen and says
// when a call may be let through (RetryAt, RetryAfter). A function that panics
// counts as a failure and its panic continues; a panicking listener does not
// stop later changes from being delivered.
//
// Bad input: New returns an error naming the invalid Config field; nothing a
// caller passes makes the package panic.
//
// Cost: in the closed state Do allocates nothing and takes no lock, with or
// without a MeterProvider. The consecutive-failure count lives in the same
// atomic word as the state (a success is one load, no write); a count window
// takes one atomic increment per call; a time window takes a short mutex. Calls
// are counted in atomic counters that an observable-counter callback reports
// when metrics are collected; the callback is unregistered when the Breaker is
// garbage-collected. Allow allocates its done function.
//
// # Telemetry
//
// Instruments (scope github.com/keel-go/keel/breaker): keel.breaker.calls,
// keel.breaker.rejections, keel.breaker.slow_calls (calls slower than
// SlowCallDuration, counted only when SlowCallRate is set),
// keel.breaker.transitions and the gauge keel.breaker.state; see
// docs/METRICS.md.
package breaker
