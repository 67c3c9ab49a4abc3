// Package hedge cuts the latency tail of calls to a dependency: when an
// attempt is slower than it should be, a second (hedged) attempt is sent
// without cancelling the first, the first to succeed is returned, and the
// others are cancelled. "The Tail at Scale" (Dean and Barroso) measured what
// this buys: in a BigTable benchmark, a hedged request after a 10 ms delay cut
// the 99.9th percentile from 1,800 ms to 74 ms for 2% more requests.
//
// Use it for idempotent calls (reads, or writes that carry an idempotency
// key) to a dependency with a long tail: a replica that stalls on garbage
// collection, a cold cache, a packet lost and retransmitted.
//
//	budget, _ := retry.NewBudget(retry.BudgetConfig{})        // shared with the retry policy
//	b, _ := breaker.New(breaker.Config{Name: "search"})
//	p, err := hedge.New(hedge.Config{
//		Name:       "search",
//		Percentile: 0.95,             // hedge the slowest 5%
//		Delay:      50 * time.Millisecond, // until 100 latencies are known
//		Budget:     budget,           // hedges spend it: no extra load while the dependency struggles
//		Breaker:    b,                // and none while its breaker is not closed
//	})
//	...
//	hits, err := hedge.Do(ctx, p, func(ctx context.Context) ([]Hit, error) { return search.Query(ctx, q) })
//
// # The rules
//
//   - Delay: a hedge is sent when the attempts have run Config.Delay, or, with
//     Config.Percentile, that percentile of the latencies of the last
//     Config.Window successful calls (Delay until Config.MinSamples are
//     known). Each further hedge, up to Config.MaxHedges, waits one more delay.
//   - Winner: the first attempt to succeed wins; the call returns at once,
//     every other attempt's context is cancelled and whatever it returns is
//     discarded (an *http.Response has its body closed).
//   - Failures: an attempt that fails does not end the call while another is
//     running; once every attempt sent has failed, the call fails with the
//     only error or an *Error that keeps them all. A failure does not bring
//     the next hedge forward: repeating failed calls is a retry's job, with
//     its backoff.
//   - Load: with Config.Budget, each hedge costs one token, paid up front
//     (TryWithdraw), and each successful call earns some back (Deposit); a
//     hedge the budget refuses is not sent. With a *retry.Budget this bounds
//     hedges to about TokenRatio of the successful calls (10% by default),
//     and to MaxTokens/2 in all while nothing succeeds: hedging cannot double
//     the load of a dependency that has become slow or is failing. With
//     Config.Breaker, no hedge is sent unless the breaker is Healthy
//     (closed): a call made while it is not is not hedged at all.
//
// A retry policy sharing the Budget credits each successful call too, so a
// call that goes through both is credited twice: hedges and retries together
// then stay within about 2×TokenRatio of the successful calls (and within
// MaxTokens/2 while nothing succeeds, unchanged). Halve TokenRatio if you
// need the single bound.
//
// # Guarantees
//
// Concurrency: a Policy is safe for concurrent use. A hedged call runs every
// attempt on a goroutine of its own, so fn must be safe to run several times
// at once. A call that will not be hedged (the breaker is not healthy, or no
// delay is known yet) runs on the caller's goroutine, with no goroutine or
// timer.
//
// Goroutines: Do returns when the call is decided, without waiting for the
// losers; each loser's goroutine ends when its fn returns, which a function
// that honours its (cancelled) context does at once. Nothing else is left
// running: no timer, no goroutine of the policy's own.
//
// Cancellation: a done context runs nothing; the caller's cancellation ends
// the call at once with the context's error and cancels every attempt. No
// hedge is paid for or sent once the caller's context is done or its
// deadline has come (even at the very instant the hedge falls due). No
// attempt is started once the call is decided: an attempt's goroutine that
// finds its context done does not call fn.
//
// Panics: a panic in an attempt is re-raised on the caller's goroutine, as if
// fn had been called there, while the call is undecided; once it is decided,
// nobody can receive it and it crashes the program like any goroutine's.
//
// Responses: a winning *http.Response, or the last one when every attempt
// failed, keeps its attempt's context until its body is read to the end or
// closed, so it can be read after Do returns.
//
// Bad input: New returns an error naming the invalid Config field (a typed nil
// Budget or Breaker included); nothing a caller passes makes the package
// panic.
//
// Cost: a hedged call costs a goroutine, a context and a channel per attempt
// and a timer: 10 allocations and 696 bytes for a call that answers before
// its hedge is due, and 4.0–4.3 µs of CPU on the heavily loaded 2-core
// machine of docs/BENCHMARKS.md (failsafe-go's hedge policy, same runs:
// 5.4–6.6 µs, 27 allocations). Only calls that can be hedged pay it. Recording a latency is
// two atomic operations; every Window/16 samples one caller sorts a copy of
// the window (about 20 µs for 1000 samples).
//
// # Telemetry
//
// Instruments (scope github.com/keel-go/keel/hedge): keel.hedge.calls (by
// outcome: first, hedge, failure, canceled), keel.hedge.hedges (hedges sent:
// the extra load), keel.hedge.suppressed (by reason: budget, breaker) and the
// gauge keel.hedge.delay; see docs/METRICS.md.
package hedge
