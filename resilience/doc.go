// Package resilience composes Keel's policies around one call: a pipeline
// of fallback, timeouts, retry, hedge, rate limit or bulkhead, and breaker,
// built once and run with a typed Do; and an http.RoundTripper on it that
// makes retried and hedged requests safe by giving each logical request one
// Idempotency-Key.
//
//	p, err := resilience.With(
//		fallbackPolicy,  // *fallback.Policy[Charge]: answers "pending" when the gateway is unavailable
//		overall,         // *timeout.Policy, 10s: the whole call, retries and waits included
//		retryPolicy,     // *retry.Policy
//		gatewayBreaker,  // *breaker.Breaker
//		perAttempt,      // *timeout.Policy, 2s: each attempt
//	)
//	if err != nil { return err } // names any policy out of order, and why
//	charge, err := resilience.Do(ctx, p, func(ctx context.Context) (Charge, error) { return gateway.Charge(ctx, req) })
//
// It is the one library package that imports the primitives (retry, breaker,
// ratelimit, timeout, fallback, hedge); they import nothing of each other
// and meet here, in examples/ and in your code. Each policy keeps its own
// metrics, its own errors and its own configuration; a pipeline adds none.
//
// # Choosing the order
//
// Policies are listed outermost first; each wraps all that follow it. The
// recommended order, from the outside in:
//
//	fallback → timeout (overall) → retry → hedge → rate limit / bulkhead → breaker → timeout (per attempt) → call
//
// Why each goes where it does:
//
//   - Fallback outermost: it must see the final outcome, after every retry,
//     so that it answers only what nothing else could fix, and only the
//     errors it is told to (breaker open, limited, timed out).
//   - An overall timeout outside the retry bounds the whole call, waits
//     included; a per-attempt timeout inside bounds each attempt, and a
//     timed-out attempt is retried (timeout.ExceededError is retryable). Use
//     both, the inner one shorter.
//   - Retry outside the breaker: every attempt is a call the breaker counts,
//     and a rejection tells the retry, through OpenError.RetryAfter, when the
//     break ends (or stops it, with a Classifier that stops on ErrOpen).
//   - Hedge inside the retry: each attempt of the retry may be hedged; the
//     other way round, each hedge would be a whole retry loop. Give the hedge
//     the breaker inside it (hedge.Config.Breaker), so that it sends no hedge
//     while the breaker is not closed; With insists.
//   - A rate limit or bulkhead on the dependency (ratelimit's Limiter and
//     Bulkhead, or ratelimit/adaptive's Limiter) goes inside the retry and the
//     hedge (each attempt takes a token or a slot) and outside the breaker
//     (its refusals are not the dependency's failures). A limit on logical
//     calls may go further out.
//   - The per-attempt timeout inside the breaker, so that the breaker counts
//     a timed-out attempt as a failure and can count it as slow.
//
// With refuses the compositions that defeat one of their own policies —
// anything inside a fallback's reach, a retry or hedge inside a breaker, a
// retry inside a hedge, two retries or two hedges, a limiter inside a
// breaker, a per-attempt timeout not shorter than the overall one, a hedge
// outside a breaker that it does not watch (hedge.Config.Breaker: without
// it, hedges go out while the breaker is open) — with an
// *OrderError naming both policies and the reason. New with Config.AnyOrder
// accepts any order, for a composition that means it.
//
// # Guarantees
//
// Types: Do[T] runs each policy's typed form, so a retry returns the last
// attempt's value, a hedge the winner's (others discarded), a timeout none
// after its deadline, a fallback its answer. A *fallback.Policy[U] with U
// other than T makes Do return an error, without calling fn. Pipeline.Do,
// untyped, accepts a fallback of any type and drops its value.
//
// Errors: nothing is wrapped by the pipeline; each policy's error reaches the
// caller as the policy returns it. retry.Error and hedge.Error keep every
// attempt's error, so errors.Is and errors.As find any cause — the timeout of
// the second attempt, the breaker's rejection of the third.
//
// Concurrency: a Pipeline is immutable and safe for concurrent use. fn may
// run several times, and, with a hedge, several times at once. A policy of
// your own (any type with Do(ctx, fn) error) may join; it must call fn at
// most once at a time.
//
// Bad input: New returns an error naming the invalid policy; nothing a caller
// passes makes the package panic.
//
// Cost: the sum of the policies' costs and nothing more: a pipeline of retry
// and breaker allocates nothing; with a timeout, exactly what the timeout
// allocates (its context). A function that captures variables is moved to
// the heap once per call (one allocation), because the pipeline's code may
// hand it to a hedge's goroutines; Pipeline.Do's untyped function is not.
// Figures against failsafe-go are in docs/BENCHMARKS.md.
//
// # HTTP
//
// Transport is an http.RoundTripper that sends each request through a
// pipeline, with one Idempotency-Key per logical request reused by every
// retry and hedge of it; see Transport.
package resilience
