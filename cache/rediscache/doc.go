// Package rediscache is a two-tier cache for a service that runs as
// several instances: each instance keeps a local cache.Cache in front of a
// shared Redis (github.com/redis/go-redis/v9), and a write or delete in one
// instance invalidates every other instance's local copy through Redis
// pub/sub. It lives apart from package cache so that the core never links
// go-redis.
//
// # Reads and writes
//
// Get and GetOrLoad look in the local tier, then in Redis, then (GetOrLoad)
// call the loader and write its result to Redis with Config.TTL. Values are
// encoded with Config.Codec (JSON by default). Loads are single-flighted per
// instance and keep the local tier's NotFound, refresh-ahead and
// stale-if-error behaviour (Config.Local). Set and Delete write Redis, then
// publish the key on the channel Prefix+"invalidate"; every other instance
// drops its local copy when the message arrives, and a load that was in
// flight there for that key is not stored, so it cannot reinstate the old
// value.
//
// # Coherence bound
//
// While Redis is reachable, a write in one instance is seen by the others
// as soon as the invalidation is delivered (pub/sub latency: milliseconds
// on a local network). Pub/sub is fire-and-forget, so when an instance
// loses its subscription it may miss invalidations: on resubscribing it
// purges its whole local tier. In the worst case (a message lost while the
// connection stayed up, or an instance cut off from Redis) a stale local
// copy is served for at most Config.Local.TTL, which defaults to one minute
// and may not exceed Config.TTL. Choose Local.TTL as the staleness you can
// accept.
//
// # Redis down
//
// A failing Redis command does not fail the caller: the cache counts it
// (keel.cache.redis.errors), raises keel.cache.redis.degraded, logs the
// transition once, and serves from the local tier alone, calling loaders
// directly, for Config.RetryAfter before it tries Redis again. Callers see
// no error storm, and Redis sees one probe per RetryAfter instead of one
// per request. Set and Delete during an outage change only the local tier.
//
// # Guarantees
//
//   - Concurrency: safe for concurrent use.
//   - Bad input: New rejects an invalid Config with an error naming the
//     field; a value that cannot be decoded from Redis reads as a miss and is
//     counted (Stats.CodecErrors); Set of a value the codec cannot encode
//     returns the error and writes nothing.
//   - Close stops the invalidation listener and closes the local tier; it
//     does not close the Redis client, which the caller owns.
//   - Keys and values are never logged.
package rediscache
