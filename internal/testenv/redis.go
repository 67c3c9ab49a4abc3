package testenv

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisEnv names the variable that overrides the Redis address.
const RedisEnv = "KEEL_TEST_REDIS_ADDR"

// DefaultRedisAddr is where the local Redis is looked for.
const DefaultRedisAddr = "127.0.0.1:6379"

// Redis is a Redis key prefix owned by one test.
type Redis struct {
	// Client is connected to the configured Redis.
	Client *redis.Client
	// Addr is the server's host:port.
	Addr string
	// Prefix starts every key the test may use ("keel_<test>_<random>:").
	// Every key under it is deleted when the test ends.
	Prefix string
}

// RedisPrefix gives tb a client for the configured Redis and a fresh key
// prefix; every key under the prefix is deleted when tb ends.
func RedisPrefix(tb testing.TB) *Redis {
	tb.Helper()
	addr := envOr(RedisEnv, DefaultRedisAddr)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	err := client.Ping(ctx).Err()
	cancel()
	if err != nil {
		_ = client.Close()
		unavailable(tb, "Redis", addr, RedisEnv, err)
		return nil
	}
	r := &Redis{Client: client, Addr: addr, Prefix: namespace(tb) + ":"}
	tb.Cleanup(func() {
		defer client.Close()
		ctx := context.Background()
		iter := client.Scan(ctx, 0, r.Prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("testenv: Redis: scan %s*: %v", r.Prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("testenv: Redis: delete %d keys under %s: %v", len(keys), r.Prefix, err)
			}
		}
	})
	return r
}

// Key returns name under the test's prefix.
func (r *Redis) Key(name string) string { return r.Prefix + name }
