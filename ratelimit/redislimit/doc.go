// Package redislimit enforces per-key rate limits across any number of
// service instances through Redis. It gives the same decisions as
// ratelimit.Keyed in one process (the same allowed/refused and remaining
// units; waits agree to within microseconds of rounding) — a bucket of Burst units refilled at
// Limit per Period — and plugs into ratelimit.Middleware (it implements
// ratelimit.Taker). It lives in its own package so that importing ratelimit
// does not link go-redis.
//
// # Algorithm
//
// GCRA, the generic cell rate algorithm: per key, Redis stores one number,
// the theoretical arrival time (TAT) of the next unit. A call is allowed when
// TAT - Burst*T <= now, where T = Period/Limit, and then moves TAT on by T.
// This is a token bucket in another form, and it needs one GET and one SET.
// Both run inside one Lua script, so each decision is atomic and costs one
// round trip (EVALSHA; the first call after Redis starts or flushes its
// script cache also sends the script, once). Time comes from Redis (TIME), never from the calling
// process, so clock skew between instances cannot loosen the limit. A key
// expires exactly when its bucket would be full again, so Redis holds no idle
// keys. See docs/FORMATS.md for the key layout.
//
// # Several windows, weighted cost
//
// Config.Windows holds each key to several limits at once (100 per minute
// and 1,000 per hour) in the same single round trip: a second script
// (gcra_windows.lua) keeps one TAT per window in one Redis hash per key and
// moves them all on only when every window grants the cost, so a refused
// call takes nothing. TakeN weighs a call; a cost below 1 or above the
// smallest Burst is an error wrapping ratelimit.ErrInvalidCost (Redis is
// not asked). Decisions match ratelimit.Keyed with the same Windows,
// window by window (TestWindowsAndCostSameDecisionsAsInProcess).
//
// # Faults
//
// When Redis cannot answer (unreachable, timeout, error reply), FailOpen
// (the default) allows the call and FailClosed refuses it with an error
// wrapping ErrUnavailable; either way the decision is counted by
// keel.ratelimit.redis.failures and logged at most once a second. A done
// context is returned as its error in both modes and is not a failure. How
// long a call may wait for Redis is the client's (redis.Options ReadTimeout,
// DialTimeout, MaxRetries) or the context's: set them short, because a
// limiter that waits seconds for its store defeats its purpose.
//
// FailLocal degrades instead of choosing between open and closed: each
// instance enforces its share of every window in process (Limit/N and
// Burst/N per key, at least 1), with N from Config.Instances or learned from
// heartbeats the instances write to Redis while it is up (a sorted set
// <Prefix><Name>#instances, one pipelined round trip per HeartbeatEvery;
// N is 1 until one is seen). A degraded limiter asks Redis again at most
// once a second, and that probe blocks its call for up to the client's dial
// time (keep DialTimeout short and DialerRetries at 1); when Redis answers
// it returns to the shared buckets (a restarted Redis starts them full, and
// until every instance's next probe the others still add their local
// share). Time spent degraded is the counter
// keel.ratelimit.redis.degraded.duration.
// TestFailLocalSharesTheLimitWhileRedisIsDown kills and restarts a private
// redis-server under two instances: while it is down they admit together
// the limit over the outage plus the burst, within 20 % (measured 206 and
// 207 of 212 and 211).
//
// # Example
//
//	limiter, err := redislimit.New(redislimit.Config{
//		Client: redis.NewClient(&redis.Options{Addr: "redis:6379", ReadTimeout: 50 * time.Millisecond}),
//		Name:   "api", Limit: 100, Period: time.Minute, Burst: 20,
//	})
//	if err != nil { ... }
//	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: limiter, Key: ratelimit.APIKey("X-API-Key")})
//
// Every exported type is safe for concurrent use. No goroutines are started;
// Close only unregisters the metric callback; a limiter dropped without
// Close is still collected, and its callback unregistered then.
package redislimit
