package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/keel-go/keel/internal/testenv"
	"github.com/keel-go/keel/ratelimit/redislimit"
)

// roundTrips counts commands sent to Redis; neither limiter pipelines, so
// each command is one network round trip.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkRedisDecision takes one unit per operation from per-key buckets
// (1,000 keys, 100 per second with burst 100, so almost every call is
// allowed) on the local Redis: Keel's redislimit against redis_rate, same
// client options, same run. roundtrips/op is counted by a client hook;
// cpu-ns/op is this process's CPU (the client side; Redis's own is not
// included).
func BenchmarkRedisDecision(b *testing.B) {
	r := testenv.RedisPrefix(b)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "customer-" + strconv.Itoa(i)
	}
	ctx := context.Background()

	contenders := []struct {
		name string
		make func(client *redis.Client) func(key string) error
	}{
		{"keel", func(client *redis.Client) func(string) error {
			l, err := redislimit.New(redislimit.Config{
				Client: client, Prefix: r.Prefix + "keel:", Name: "bench", Limit: 100, Period: time.Second,
			})
			if err != nil {
				b.Fatal(err)
			}
			return func(key string) error { _, err := l.Take(ctx, key); return err }
		}},
		{"redis_rate", func(client *redis.Client) func(string) error {
			l := redis_rate.NewLimiter(client)
			limit := redis_rate.PerSecond(100)
			prefixed := make(map[string]string, len(keys))
			for _, k := range keys {
				prefixed[k] = r.Prefix + "redis_rate:" + k
			}
			return func(key string) error { _, err := l.Allow(ctx, prefixed[key], limit); return err }
		}},
	}
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			client := redis.NewClient(&redis.Options{Addr: r.Addr})
			defer client.Close()
			counter := &roundTrips{}
			client.AddHook(counter)
			decide := c.make(client)
			if err := decide("warm-up"); err != nil { // loads the script
				b.Fatal(err)
			}
			counter.n.Store(0)
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				if err := decide(keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(counter.n.Load())/float64(i), "roundtrips/op")
		})
	}
}
