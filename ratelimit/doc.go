// Package ratelimit caps how fast and how many calls get through: token
// buckets for a rate (per process, or per key such as an API key, user or
// client IP), a bulkhead for concurrency, and net/http middleware that
// answers 429 with Retry-After, the IETF RateLimit and RateLimit-Policy
// header fields and an RFC 9457 problem body. The subpackage redislimit
// enforces the same per-key limits across many instances through Redis.
//
// # Which limiter
//
//   - Limiter: one token bucket (golang.org/x/time/rate) — pace calls to an
//     upstream with Wait, or shed with Allow/Do.
//   - Keyed: one bucket per key in a bounded table with idle expiry — cap
//     each API key at, say, 100 requests per minute with a burst of 20.
//   - Bulkhead: at most N calls in flight, with an optional bounded queue
//     and maximum wait — shed load before the service falls over.
//   - Middleware: a Keyed (or a redislimit.Limiter) in front of a handler.
//   - Bulkhead.Wrap: a Bulkhead in front of a handler (503 when saturated).
//
// # The algorithm
//
// A bucket holds at most Burst units and gains Limit units per Period,
// continuously (one unit every Period/Limit). A call takes one unit; when
// none is left it is refused (Allow, Do) or waits for the next (Wait). So a
// client can send Burst requests at once and then Limit per Period on
// average. Keyed and redislimit implement the bucket as GCRA (the generic
// cell rate algorithm); Keyed keeps each key's state as one integer "debt"
// in units that make both a token's cost and the refill per nanosecond whole
// numbers, so its arithmetic is exact. Its decisions are those of an
// x/time/rate bucket with the same limit and burst (including that bucket's
// rule that a unit due in under a nanosecond is granted now); Reset and
// RetryAfter may differ from x/time/rate's float arithmetic by a nanosecond
// or two. TestKeyedReplaysTheReferenceDecisions replays random sequences
// through both.
//
// # Several limits per key, weighted cost
//
// KeyedConfig.Windows holds each key to several limits at once (100 per
// minute and 1,000 per hour): a call is allowed only when every window can
// grant it, and it is then taken from all of them under one lock, so a
// refused call takes nothing. TakeN and AllowN weigh a call (an export may
// cost 10 units); a cost below 1 or above the smallest Burst is an error
// wrapping ErrInvalidCost, since it could never be granted. A Decision's
// Remaining and Reset describe the most restrictive window, RetryAfter the
// time until every window grants the cost, and Policies each window, most
// restrictive first. The middleware advertises every window in
// RateLimit-Policy and reports each in the RateLimit field, most
// restrictive (lowest remaining) first, as the IETF draft requires for a
// policy of several windows; MiddlewareConfig.Cost prices a request.
//
// # Middleware hooks
//
// MiddlewareConfig.OnLimited is called with the request and the Decision for
// every 429, before the response is written (audit a denial, count it by
// route), so applications need not wrap the ResponseWriter to notice 429s.
// MiddlewareConfig.WriteProblem renders every refusal (429, 400, 500, 503)
// in the application's own format from a Problem; the RateLimit fields and
// Retry-After are already set. WriteProblemJSON is the default.
//
// # Adaptive concurrency
//
// The subpackage adaptive is a Bulkhead that finds its own MaxInFlight from
// latency (in the manner of Netflix's Vegas and Gradient2 limits): under
// overload it settles near the backend's capacity, so admitted calls keep
// about their unloaded latency. Calls carry a priority (Low is shed first,
// Critical keeps headroom) and a tenant (one tenant holds at most a share
// of the limit). Its refusals are this package's: *LimitedError,
// CodeOverloaded, ProblemTypeReducedCapacity.
//
// # Example
//
//	perKey, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{
//		Name: "api", Limit: 100, Period: time.Minute, Burst: 20,
//	})
//	if err != nil { ... }
//	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
//		Limiter: perKey, Key: ratelimit.APIKey("X-API-Key"),
//	})
//	if err != nil { ... }
//	http.ListenAndServe(addr, mw.Wrap(mux))
//
// # Guarantees
//
// Concurrency: every exported type is safe for concurrent use. Keyed locks
// one of up to 32 shards per call, hashes the key once and reads only the
// monotonic clock; Allow on a key already tracked does not allocate.
//
// Memory: Keyed tracks at most MaxKeys keys whatever the number of distinct
// keys it sees (about 80 B per key plus the key itself). A key idle for
// IdleTimeout (by default the time its bucket takes to refill, so forgetting
// it changes no decision) is reclaimed as new keys arrive in its shard
// (up to 8 slots inspected per new key), without a background goroutine.
// When a shard is full, recency is judged by the CLOCK scheme, an
// approximation of LRU: a hit only sets a bit, and the key forgotten is one
// not used since the sweeping hand last passed it (never one used since).
// If it was still active it starts again with a full bucket (counted by the
// keel.ratelimit.keys.evicted metric — raise MaxKeys if it grows).
//
// Refusals: every refusal is an error matching ErrLimited; a *LimitedError
// carries the limiter's name and, where it is known, RetryAfter. Waits honour
// their context: cancellation returns ctx.Err() at once, and a wait that
// could not finish before the context's deadline is refused at once instead
// of sleeping until it. A refused or cancelled wait hands its unit back.
//
// Bad input: constructors return an error naming the offending Config
// field; nothing a caller passes makes the package panic. The middleware
// answers 400 with a problem body when its key function cannot find a key,
// and its client-IP key function never trusts X-Forwarded-For from a peer
// outside TrustedProxies. Problem bodies carry Content-Length,
// Cache-Control: no-store and X-Content-Type-Options: nosniff;
// MiddlewareConfig.WriteProblem lets a service write them in its own style
// (it gets a [Problem], after the RateLimit fields and Retry-After are set).
//
// Goroutines: none are started. Close only unregisters metric callbacks; a
// limiter or bulkhead dropped without Close is still collected, and its
// callbacks unregistered then (they hold its counters, never it).
//
// Metrics (OpenTelemetry API, scope github.com/keel-go/keel/ratelimit):
// keel.ratelimit.decisions, keel.ratelimit.keys, keel.ratelimit.keys.evicted,
// keel.ratelimit.in_flight, keel.ratelimit.queued, keel.ratelimit.max_in_flight
// (a Bulkhead's limit), keel.ratelimit.rate (a Limiter's Limit/Period per
// second) and keel.ratelimit.wait.duration, attributed by limiter name; see
// docs/METRICS.md.
package ratelimit
