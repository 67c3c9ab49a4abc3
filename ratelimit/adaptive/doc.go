// Package adaptive is a concurrency limiter that finds its limit by itself
// from latency, sheds low-priority work first and caps each tenant's
// share: load shedding for a service whose capacity nobody knows, or
// which changes (autoscaling, a slow dependency, a noisy neighbour).
//
// A fixed ratelimit.Bulkhead needs its MaxInFlight chosen by hand: set too
// high, it admits calls that only queue inside the backend, so every call
// gets slower (and, where contention grows with load, fewer complete); set
// too low, it refuses calls the backend had room for. A Limiter measures
// the latency of the calls it admits and moves its limit to where latency
// starts to rise, which is the backend's capacity (docs/BENCHMARKS.md,
// "Adaptive concurrency", compares both with failsafe-go's adaptive
// limiter on a simulated backend).
//
//	l, err := adaptive.New(adaptive.Config{Name: "inventory"})
//	...
//	err = l.Do(adaptive.WithPriority(ctx, adaptive.Low), callInventory)
//	if errors.Is(err, ratelimit.ErrLimited) { /* shed: answer 503, retry later */ }
//
//	mux.Handle("/", l.Wrap(api)) // 503 + Retry-After + problem+json when shed
//
// It is a subpackage because it is a concern of its own with its own
// exported surface (Config, Limiter, Priority, Permit): its names would
// otherwise collide with ratelimit's Limiter and Config. Refusals are
// ratelimit's: a *ratelimit.LimitedError, ratelimit.CodeOverloaded and
// ratelimit.ProblemTypeReducedCapacity, so callers branch on one vocabulary.
//
// # The algorithm
//
// Completed calls are sampled in windows (Config.Window, at least
// MinSamples calls and twice the no-load latency). The no-load latency
// (NoLoadLatency) is the least window average seen in the last
// BaselineWindow. At the end of each window, Little's law estimates how
// many of the calls in flight were queued rather than served:
// queue = limit × (1 − noLoad/average), the estimate of TCP Vegas and of
// Netflix's VegasLimit. Below alpha = 3·log10(limit) the limit grows by
// log10(limit) (at least 1), but only if the window used at least half of
// it; above beta = 6·log10(limit) it drops at once to
// limit × noLoad/average (at most halving) plus alpha, the multiplicative
// drop of Netflix's Gradient2 and Envoy's gradient controller; in between
// it holds. So the limit settles where a few calls queue, which keeps
// latency near the unloaded one while the backend stays busy.
//
// # Priorities and tenants
//
// A call carries a Priority (WithPriority, or Config.RequestPriority for
// Wrap): Low may start only while fewer than LowShare (0.8) × limit calls
// of any priority are in flight, Normal NormalShare (0.9) × limit,
// Critical the whole limit. Under saturation Low is therefore refused
// first, and Critical keeps the top tenth of the limit as headroom no
// other class can take. There is no queue: a refused call is refused at
// once, because a queue is latency, which the limiter exists to prevent.
// When only Low traffic runs it is not starved: the limit grows until
// Low's share reaches the backend's capacity.
//
// A call may also carry a tenant (WithTenant, Config.RequestTenant): one
// tenant's calls may hold at most TenantShare (0.5) × limit permits, at
// least one, so one tenant's burst cannot take every permit. Calls without
// a tenant are held only by the limit.
//
// # Guarantees
//
//   - Safe for concurrent use. Acquire, Release and Do allocate nothing
//     (TestAcquireAndReleaseAllocateNothing); a refusal allocates nothing.
//   - In flight never exceeds the limit, nor a class's or tenant's share of
//     it (a limit that drops below what is in flight refuses new calls
//     until enough end). The limit stays in [MinLimit, MaxLimit].
//   - Bounded memory: the per-tenant table holds only tenants with a call
//     in flight, so never more entries than calls in flight (at most
//     MaxLimit); a stream of distinct tenant names cannot grow it. The
//     latency state is a fixed eight-slot ring.
//   - Do never runs fn when refused or when ctx has already ended (it
//     returns ctx.Err()); it releases the permit when fn returns or panics.
//   - A Permit released twice (or Released and Dropped) is logged at Error
//     and ignored, whatever else is in flight: each admitted call holds a
//     slot with a generation, and only the first release frees it (no
//     allocation per call; the slots grow with the most calls ever in
//     flight at once).
//   - On a simulated backend offered 1.5 times its capacity the limit
//     settles within 30 % of the capacity, admitted calls' p99 stays
//     under twice the unloaded latency, and throughput above 85 % of
//     capacity (TestLimitSettlesNearCapacityUnderOverload, in virtual
//     time); a backend that loses half its capacity gets a limit near the
//     new one within seconds; a lightly loaded limiter does not grow.
//   - Known limit: the no-load latency is a minimum over BaselineWindow; a
//     limiter that starts against a backend already overloaded learns an
//     inflated one until that window has passed. Start below capacity
//     (InitialLimit, default 10).
//   - Telemetry through the OpenTelemetry API (docs/METRICS.md); the
//     callback holds only counters, never the Limiter, so a dropped
//     Limiter is collected and stops being reported
//     (TestLimiterIsCollected). A Limiter starts no goroutine and has no
//     Close.
package adaptive
