// Package ratelimit compares Keel's rate limiters with peers: the keyed
// in-process limiter against a plain sync.Map of golang.org/x/time/rate
// limiters (speed, and memory under millions of distinct keys), and
// redislimit against github.com/go-redis/redis_rate/v10 on the same local
// Redis (latency and round trips per decision).
package ratelimit
