// Package timeout gives a call a deadline: the call runs under a context that
// ends after Config.Timeout, and a result that comes back later is discarded
// in favour of an error that names the policy.
//
// Use it around any call to a dependency that can hang — an HTTP or database
// call, a queue publish — so that a slow dependency costs a bounded wait
// rather than a goroutine and a client request held for ever.
//
//	p, err := timeout.New(timeout.Config{Name: "billing", Timeout: 2 * time.Second})
//	...
//	err = p.Do(ctx, func(ctx context.Context) error { return billing.Charge(ctx, order) })
//	invoice, err := timeout.Do(ctx, p, func(ctx context.Context) (Invoice, error) { ... })
//	if errors.Is(err, timeout.ErrExceeded) { /* this call took too long */ }
//
// # Where to put it
//
// Inside a retry (Keel's retry, or resilience.With), a timeout bounds each
// attempt, and a timed-out attempt is retried; outside it, it bounds the whole
// call, retries and waits included. Both are useful together: a short
// per-attempt timeout inside, a longer overall one outside. Inside a breaker,
// a timed-out call counts as the dependency's failure (and, with
// SlowCallRate, as a slow call).
//
// # Guarantees
//
// Deadline: fn's context ends Config.Timeout after Do is called, or at the
// caller's deadline when that comes first. When the policy's deadline ended
// the call, Do returns the policy's *ExceededError and the zero value, even if
// fn then returned a result (it came too late and is discarded; a discarded
// *http.Response has its body closed). The caller's own deadline or
// cancellation is returned as the context's error, never as ExceededError,
// so the two are told apart.
//
// Errors: *ExceededError matches ErrExceeded under errors.Is and has
// Timeout() == true; it does not match context.DeadlineExceeded, which Keel
// reserves for the caller's own deadline. So Keel's retry retries it and Keel's
// breaker counts it as a failure by default.
//
// Cooperation: Go cannot stop a function, only tell it to stop. Do waits for
// fn to return, so fn must honour its context (every net/http, database/sql
// and gRPC call does). Do starts no goroutine, so a function that ignores its
// context makes Do wait, but leaks nothing.
//
// Responses: when fn returns an *http.Response in time (with or without an
// error: a retry that gives up returns its last response), its context is not
// cancelled when Do returns (the body is still read under it): it is released
// when the body is read to its end or closed, or at the deadline. The deadline
// thus covers reading the body, as http.Client.Timeout does.
//
// Concurrency: a Policy is safe for concurrent use and keeps no per-call
// state.
//
// Bad input: New returns an error naming the invalid Config field; nothing a
// caller passes makes the package panic.
//
// Cost: the cost of context.WithTimeoutCause (a timer and a context: 4
// allocations, 272 bytes, with Go 1.26), and nothing of the package's own:
// calls are counted by one atomic increment that an observable-counter
// callback reports at collection, and the error a timed-out call returns is
// made once, at New. When the caller's deadline comes before the policy's, no
// child context is made and a call allocates nothing.
//
// # Telemetry
//
// Instrument (scope github.com/keel-go/keel/timeout): keel.timeout.calls, by
// outcome (success, failure, exceeded, canceled); see docs/METRICS.md. A call
// the deadline ends adds an event keel.timeout.exceeded to the caller's span
// when it is recording; the package starts no span of its own.
package timeout
