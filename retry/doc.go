// Package retry calls a function again when it fails in a way that another
// attempt may fix, waiting longer between attempts, and gives up cleanly.
//
// Use it around calls to a dependency that fails transiently: a network call,
// a database that fails over, an API that answers 503. Do not use it to hide a
// bug, and pair it with a breaker (inside the retry) and a shared Budget when
// many callers retry the same dependency, so that retries cannot multiply the
// load on something already failing.
//
//	p, err := retry.New(retry.Config{Name: "billing", MaxAttempts: 4})
//	...
//	err = p.Do(ctx, func(ctx context.Context) error { return billing.Charge(ctx, order) })
//	invoice, err := retry.Do(ctx, p, func(ctx context.Context) (Invoice, error) { ... })
//
// # The loop
//
// The delays come from github.com/cenkalti/backoff/v4 (Exponential, Constant,
// or any BackOff through BackoffFunc) or from DecorrelatedJitter; the loop is
// Keel's own, so that the context, classification and Retry-After are right:
//
//   - Attempts are numbered from 1; the first call is attempt 1, and
//     Config.MaxAttempts counts it.
//   - Before each attempt the context is checked, its deadline included
//     (a wait that ends at the deadline starts no attempt); while waiting,
//     its cancellation ends the wait at once. A call whose context is done
//     is never retried.
//   - Config.MaxElapsedTime is measured from the start of the first attempt;
//     the loop stops rather than sleep past it.
//   - A Classifier sees each attempt's result and error and answers Retry,
//     Stop or Neutral (the defaults). Permanent(err) always stops.
//   - A wait the dependency asks for — Decision.After from ClassifyHTTP's
//     Retry-After, or any error with a RetryAfter() time.Duration method such
//     as a breaker's OpenError — is a floor for the next delay, capped by
//     Config.MaxRetryAfter.
//   - A shared Budget (gRPC's retry throttling) allows retries only while the
//     dependency mostly succeeds.
//
// # Guarantees
//
// Concurrency: a Policy and a Budget are safe for concurrent use; a Policy
// keeps no per-call state (each call gets a fresh backoff, created only when a
// first retry is needed). Do starts no goroutine.
//
// Faults: when it gives up, Do returns an *Error that says how many attempts
// ran and why it stopped (ErrMaxAttempts, ErrMaxElapsed, ErrNotRetryable,
// ErrBudgetExhausted, ErrBackoffStopped, or the context's error), and keeps
// every attempt's error: errors.Is and errors.As find any of them. A response
// dropped for a retry has its body drained and closed.
//
// Bad input: New returns an error naming the invalid Config field; nothing a
// caller passes makes the package panic. ParseRetryAfter returns an error
// wrapping ErrInvalidRetryAfter for a malformed header.
//
// Cost: a call whose first attempt succeeds allocates nothing and takes no
// lock, with or without a MeterProvider: it adds one to an atomic counter that
// an observable-counter callback reports when metrics are collected. The
// callback is unregistered when the Policy is garbage-collected.
//
// # Telemetry
//
// Instruments (scope github.com/keel-go/keel/retry): keel.retry.calls,
// keel.retry.retries, keel.retry.delay, and for a policy with a Budget the
// gauges keel.retry.budget.tokens and keel.retry.budget.threshold (the
// budget is exhausted while tokens <= threshold); see docs/METRICS.md. Each retry and a
// give-up add an event to the caller's span, when it is recording; the package
// starts no span of its own.
package retry
