// Package redisstore keeps idempotency records in Redis
// (github.com/redis/go-redis/v9), for services whose instances already
// share a Redis and do not need the record to commit with their own
// database transaction (for that, use sqlstore's CompleteTx).
//
//	store, err := redisstore.New(redisstore.Config{Client: rdb})
//	if err := store.CheckConfig(ctx); err != nil { … } // noeviction?
//	m, err := idempotency.New(idempotency.Config{Store: store})
//
// Reserve, Complete and Release are each one Lua script: atomic, and one
// round trip (EVALSHA) — a replay costs one round trip, a first request two
// (reserve, complete). Each script touches one key, so the store works on
// Redis Cluster too.
//
// # Layout and time
//
// A record is one hash at prefix + len(scope) + ":" + scope + key (fields in
// docs/FORMATS.md). A pending record expires with its lease (PEXPIRE), so
// the key's existence is the lease; a completed record expires at the end
// of its retention (PEXPIREAT), computed from Redis TIME at reservation.
// Every expiry is judged by Redis's clock, never the application's.
//
// # Requirements and caveats
//
//   - Eviction: Redis must run with maxmemory-policy noeviction. Every
//     record has a TTL, so any other policy, volatile-* included, may drop a
//     live record under memory pressure, and the retry would run the
//     operation again. CheckConfig verifies it; under noeviction a full
//     Redis fails writes, and Reserve fails closed (the middleware answers
//     503).
//   - Failover: Redis replicates asynchronously. If the primary fails
//     after acknowledging a reservation or a completion but before a
//     replica received it, the promoted replica does not have the record and
//     a retry runs the operation again. WAIT-based acknowledgement narrows
//     but does not close this window; where a duplicate is unacceptable,
//     keep the record in the database that holds the side effect
//     (sqlstore with CompleteTx).
//   - Persistence: without AOF (appendfsync everysec or always) a Redis
//     restart forgets records the same way.
//
// Errors from Redis are returned wrapped, prefixed "redisstore:"; a lost
// lease is idempotency.ErrLeaseLost. Safe for concurrent use; it starts no
// goroutines.
package redisstore
