package redislimit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/internal/testenv"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/internal/metrictest"
	"github.com/keel-go/keel/ratelimit/redislimit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newLimiter(t *testing.T, cfg redislimit.Config) *redislimit.Limiter {
	t.Helper()
	l, err := redislimit.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	tests := []struct {
		name string
		cfg  redislimit.Config
		want string
	}{
		{"no client", redislimit.Config{Limit: 1}, "redislimit: Config.Client is required"},
		{"zero limit", redislimit.Config{Client: client}, "redislimit: Config.Limit must be > 0, got 0"},
		{"tiny period", redislimit.Config{Client: client, Limit: 1, Period: time.Microsecond}, "Config.Period must be at least 1ms"},
		{"negative burst", redislimit.Config{Client: client, Limit: 1, Burst: -1}, "Config.Burst must be >= 0"},
		{"unknown fail mode", redislimit.Config{Client: client, Limit: 1, FailMode: 7}, "Config.FailMode must be FailOpen, FailClosed or FailLocal, got FailMode(7)"},
		{"rate finer than a microsecond", redislimit.Config{Client: client, Limit: 2_000_000, Period: time.Second}, "faster than every microsecond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := redislimit.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, l)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestSameDecisionsAsInProcess replays sequences of takes and pauses
// against the Redis GCRA script (with a stepped clock) and the in-process
// Keyed token bucket (under synctest), and requires identical decisions:
// allowed, remaining, retry-after and reset.
func TestSameDecisionsAsInProcess(t *testing.T) {
	handPicked := []time.Duration{0, 0, 0, 0, 0, 100 * time.Millisecond, 150 * time.Millisecond, 0, 0,
		time.Second, 0, 0, 0, 0, 0, 0, 50 * time.Millisecond, 400 * time.Millisecond, 0, time.Hour, 0, 0}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]time.Duration, 300)
	for i := range random {
		if rng.IntN(3) > 0 { // two takes in three arrive at the same instant as the previous
			random[i] = time.Duration(rng.IntN(400)) * time.Millisecond
		}
	}
	tests := []struct {
		name         string
		limit, burst int
		period       time.Duration
		steps        []time.Duration
	}{
		{"hand-picked", 5, 4, time.Second, handPicked},
		{"random 7 per 3s burst 3", 7, 3, 3 * time.Second, random},
		{"random 1 per 250ms burst 10", 1, 10, 250 * time.Millisecond, random},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testenv.RedisPrefix(t)
			var want []ratelimit.Decision
			synctest.Test(t, func(t *testing.T) {
				keyed, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: tt.limit, Period: tt.period, Burst: tt.burst})
				require.NoError(t, err)
				defer keyed.Close()
				for _, pause := range tt.steps {
					time.Sleep(pause)
					d, err := keyed.Take(context.Background(), "k")
					require.NoError(t, err)
					want = append(want, d)
				}
			})

			l := newLimiter(t, redislimit.Config{Client: r.Client, Prefix: r.Prefix, Limit: tt.limit, Period: tt.period, Burst: tt.burst})
			now := time.Unix(1_700_000_000, 0)
			redislimit.SetClock(l, func() time.Time { return now })
			var got []ratelimit.Decision
			allowed := 0
			for _, pause := range tt.steps {
				now = now.Add(pause)
				d, err := l.Take(context.Background(), "k")
				require.NoError(t, err)
				got = append(got, d)
				if d.Allowed {
					allowed++
				}
			}
			// Decisions and remaining units must be identical; durations may
			// differ by rounding: the script keeps its state in whole
			// microseconds, x/time/rate in float tokens, and the rounding
			// stays within a few microseconds.
			require.Len(t, got, len(want))
			for i := range want {
				w, g := want[i], got[i]
				require.Equal(t, w.Allowed, g.Allowed, "step %d", i)
				require.Equal(t, w.Remaining, g.Remaining, "step %d", i)
				require.InDelta(t, w.RetryAfter, g.RetryAfter, float64(10*time.Microsecond), "step %d", i)
				require.InDelta(t, w.Reset, g.Reset, float64(10*time.Microsecond), "step %d", i)
			}
			assert.Greater(t, allowed, tt.burst, "the sequence exercises refill")
			assert.Less(t, allowed, len(tt.steps), "the sequence exercises refusals")
		})
	}
}

// TestInstancesShareOneLimit stands several service instances (each with
// its own client and limiter) on one key, concurrently, against the real
// Redis clock: together they never get more than the limit.
func TestInstancesShareOneLimit(t *testing.T) {
	r := testenv.RedisPrefix(t)
	const instances, workers, tries = 4, 4, 40
	var allowed, limited atomic.Int64
	var wg sync.WaitGroup
	for range instances {
		client := redis.NewClient(&redis.Options{Addr: r.Addr})
		defer client.Close()
		// 50 per hour with a burst of 50: one unit restored every 72s, so
		// during this test exactly the burst is available.
		l := newLimiter(t, redislimit.Config{Client: client, Prefix: r.Prefix, Name: "orders", Limit: 50, Period: time.Hour})
		for range workers {
			wg.Go(func() {
				for range tries {
					ok, err := l.Allow(context.Background(), "api-key-1")
					if !assert.NoError(t, err) {
						return
					}
					if ok {
						allowed.Add(1)
					} else {
						limited.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	assert.Equal(t, int64(50), allowed.Load())
	assert.Equal(t, int64(instances*workers*tries-50), limited.Load())

	// The refused decisions say when to retry: one unit every 72s.
	l := newLimiter(t, redislimit.Config{Client: r.Client, Prefix: r.Prefix, Name: "orders", Limit: 50, Period: time.Hour})
	d, err := l.Take(context.Background(), "api-key-1")
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.InDelta(t, 72*time.Second, d.RetryAfter, float64(5*time.Second))
}

// TestInstancesShareOneRateOverTime runs several instances against one key
// with a fast refill for a short while, and bounds what they got together
// by the bucket's algebra over the elapsed time as Redis measured it: at most
// Burst + elapsed/T (+1 for the unit due at the edge).
func TestInstancesShareOneRateOverTime(t *testing.T) {
	r := testenv.RedisPrefix(t)
	const instances, workers = 4, 3
	const limit, burst = 100, 10 // one unit every 10ms
	ctx := context.Background()
	start, err := r.Client.Time(ctx).Result()
	require.NoError(t, err)
	stop := time.Now().Add(300 * time.Millisecond)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range instances {
		client := redis.NewClient(&redis.Options{Addr: r.Addr})
		defer client.Close()
		l := newLimiter(t, redislimit.Config{Client: client, Prefix: r.Prefix, Name: "fast", Limit: limit, Period: time.Second, Burst: burst})
		for range workers {
			wg.Go(func() {
				for time.Now().Before(stop) {
					ok, err := l.Allow(ctx, "k")
					if !assert.NoError(t, err) {
						return
					}
					if ok {
						allowed.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	end, err := r.Client.Time(ctx).Result()
	require.NoError(t, err)
	elapsed := end.Sub(start)
	most := int64(burst) + int64(elapsed/(10*time.Millisecond)) + 1
	t.Logf("allowed %d in %s of Redis time (bound %d)", allowed.Load(), elapsed, most)
	assert.LessOrEqual(t, allowed.Load(), most)
	assert.Greater(t, allowed.Load(), int64(burst), "units were restored while the instances ran")
}

func TestKeysExpireWhenTheBucketIsFull(t *testing.T) {
	r := testenv.RedisPrefix(t)
	l := newLimiter(t, redislimit.Config{Client: r.Client, Prefix: r.Prefix, Name: "ttl", Limit: 10, Period: time.Minute, Burst: 5})
	for range 3 {
		_, err := l.Take(context.Background(), "user-9")
		require.NoError(t, err)
	}
	key := r.Prefix + "ttl:user-9"
	ttl, err := r.Client.PTTL(context.Background(), key).Result()
	require.NoError(t, err)
	// 3 units at 6s each: the bucket is full again in 18s.
	assert.InDelta(t, 18*time.Second, ttl, float64(time.Second))
}

func TestOneRoundTripPerDecision(t *testing.T) {
	r := testenv.RedisPrefix(t)
	counter := &commandCounter{}
	r.Client.AddHook(counter)
	l := newLimiter(t, redislimit.Config{Client: r.Client, Prefix: r.Prefix, Limit: 1000})
	_, err := l.Take(context.Background(), "warm") // may load the script (EVALSHA, then EVAL)
	require.NoError(t, err)
	counter.n.Store(0)
	for i := range 20 {
		_, err := l.Take(context.Background(), fmt.Sprint("k", i%3))
		require.NoError(t, err)
	}
	assert.Equal(t, int64(20), counter.n.Load())
}

// commandCounter counts commands sent to Redis (each is one round trip:
// the limiter does not pipeline).
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// unreachableClient points at a port nothing listens on.
func unreachableClient(t *testing.T) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second,
	})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestFailOpenWhenRedisIsUnreachable(t *testing.T) {
	mp, collect := metrictest.New(t)
	var logs bytes.Buffer
	l := newLimiter(t, redislimit.Config{
		Client: unreachableClient(t), Name: "orders", Limit: 1, Period: time.Hour, Burst: 3,
		MeterProvider: mp, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	start := time.Now()
	for range 5 {
		d, err := l.Take(context.Background(), "k")
		require.NoError(t, err, "fail-open hides the outage from the caller")
		assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 2}, d)
	}
	assert.Equal(t, map[string]int64{"keel.ratelimit.fail_mode=open,keel.ratelimit.name=orders": 5},
		collect("keel.ratelimit.redis.failures"))
	logged := bytes.Count(logs.Bytes(), []byte("Redis failed"))
	assert.GreaterOrEqual(t, logged, 1)
	assert.LessOrEqual(t, logged, int(time.Since(start)/time.Second)+1, "failures are logged at most once a second")
	assert.Contains(t, logs.String(), "127.0.0.1:1")
}

func TestFailClosedWhenRedisIsUnreachable(t *testing.T) {
	mp, collect := metrictest.New(t)
	l := newLimiter(t, redislimit.Config{
		Client: unreachableClient(t), Name: "orders", Limit: 100, FailMode: redislimit.FailClosed, MeterProvider: mp,
	})
	d, err := l.Take(context.Background(), "k")
	assert.ErrorIs(t, err, redislimit.ErrUnavailable)
	assert.False(t, d.Allowed)
	ok, err := l.Allow(context.Background(), "k")
	assert.ErrorIs(t, err, redislimit.ErrUnavailable)
	assert.False(t, ok)
	assert.Equal(t, map[string]int64{"keel.ratelimit.fail_mode=closed,keel.ratelimit.name=orders": 2},
		collect("keel.ratelimit.redis.failures"))

	// Behind the middleware, fail-closed answers 503 and never runs the handler.
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: l})
	require.NoError(t, err)
	called := false
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.False(t, called)
}

func TestCanceledContextIsNotAFailure(t *testing.T) {
	mp, collect := metrictest.New(t)
	l := newLimiter(t, redislimit.Config{Client: unreachableClient(t), Limit: 1, MeterProvider: mp})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Take(ctx, "k")
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, redislimit.ErrUnavailable))
	assert.Empty(t, collect("keel.ratelimit.redis.failures"))
}

func TestMiddlewareWithRedis(t *testing.T) {
	r := testenv.RedisPrefix(t)
	l := newLimiter(t, redislimit.Config{Client: r.Client, Prefix: r.Prefix, Name: "api", Limit: 100, Period: time.Minute, Burst: 2})
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: l, Key: ratelimit.HeaderKey("X-Tenant")})
	require.NoError(t, err)
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	codes := []int{}
	var last *httptest.ResponseRecorder
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-Tenant", "acme")
		last = httptest.NewRecorder()
		h.ServeHTTP(last, req)
		codes = append(codes, last.Code)
	}
	assert.Equal(t, []int{204, 204, 429}, codes)
	assert.Equal(t, `"api";q=100;w=60`, last.Header().Get("RateLimit-Policy"))
	assert.Equal(t, `"api";r=0;t=1`, last.Header().Get("RateLimit"))
	assert.Equal(t, "1", last.Header().Get("Retry-After"))
}
