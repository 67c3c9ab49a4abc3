package rediscache

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keel-go/keel/cache"
	"github.com/keel-go/keel/internal/testenv"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

type customer struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// invalidationBound is the documented bound for a write in one instance to
// reach another's local tier while Redis is up: pub/sub delivery, in
// practice milliseconds on a local Redis. The tests poll up to it.
const invalidationBound = 2 * time.Second

func newInstance(t *testing.T, client redis.UniversalClient, prefix string, tune func(*Config[customer])) *Cache[customer] {
	t.Helper()
	cfg := Config[customer]{Client: client, Prefix: prefix}
	if tune != nil {
		tune(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// waitReceived waits until c has applied n invalidations, so that a
// late invalidation of an earlier write cannot drop what the test reads
// next.
func waitReceived[V any](t *testing.T, c *Cache[V], n uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Stats().InvalidationsReceived >= n }, invalidationBound, time.Millisecond)
}

// secondClient is another connection to the same Redis, as another
// instance of the service would have.
func secondClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestNewRejectsBadConfig(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	cases := []struct {
		name string
		cfg  Config[int]
		want string
	}{
		{"no client", Config[int]{}, "rediscache: Config.Client is required"},
		{"negative ttl", Config[int]{Client: client, TTL: -1}, "Config.TTL must be >= 0"},
		{"negative op timeout", Config[int]{Client: client, OpTimeout: -1}, "Config.OpTimeout must be >= 0"},
		{"negative retry", Config[int]{Client: client, RetryAfter: -1}, "Config.RetryAfter must be >= 0"},
		{"local outlives redis", Config[int]{Client: client, TTL: time.Second, Local: cache.Config[string, int]{TTL: time.Hour}},
			"Config.Local.TTL (1h0m0s) must not exceed Config.TTL (1s)"},
		{"bad local", Config[int]{Client: client, Local: cache.Config[string, int]{Capacity: -1}}, "rediscache: Config.Local: cache: Config.Capacity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestAWriteInOneInstanceIsSeenInTheOther(t *testing.T) {
	r := testenv.RedisPrefix(t)
	ctx := t.Context()
	a := newInstance(t, r.Client, r.Prefix, nil)
	b := newInstance(t, secondClient(t, r.Addr), r.Prefix, nil)

	require.NoError(t, a.Set(ctx, "c1", customer{1, "Ada"}))
	waitReceived(t, b, 1)
	got, ok := b.Get(ctx, "c1")
	require.True(t, ok, "b reads a's write through Redis")
	assert.Equal(t, customer{1, "Ada"}, got)
	_, ok = b.Local().Get("c1")
	require.True(t, ok, "and now holds it locally")

	require.NoError(t, a.Set(ctx, "c1", customer{1, "Ada Lovelace"}))
	require.Eventually(t, func() bool {
		got, _ := b.Get(ctx, "c1")
		return got.Name == "Ada Lovelace"
	}, invalidationBound, time.Millisecond, "b's local copy was invalidated, not served stale")
	assert.GreaterOrEqual(t, b.Stats().InvalidationsReceived, uint64(1))
	assert.GreaterOrEqual(t, a.Stats().InvalidationsSent, uint64(2))

	a.Delete(ctx, "c1")
	require.Eventually(t, func() bool {
		_, ok := b.Get(ctx, "c1")
		return !ok
	}, invalidationBound, time.Millisecond, "a delete reaches b too")
	n, err := r.Client.Exists(ctx, r.Key("c1")).Result()
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestGetOrLoadLoadsOnceAcrossInstancesThroughRedis(t *testing.T) {
	r := testenv.RedisPrefix(t)
	ctx := t.Context()
	a := newInstance(t, r.Client, r.Prefix, nil)
	b := newInstance(t, secondClient(t, r.Addr), r.Prefix, nil)
	var loads atomic.Int64
	loader := func(_ context.Context, key string) (customer, error) {
		loads.Add(1)
		return customer{7, "loaded " + key}, nil
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			v, err := a.GetOrLoad(ctx, "c7", loader)
			assert.NoError(t, err)
			assert.Equal(t, "loaded c7", v.Name)
		})
	}
	wg.Wait()
	v, err := b.GetOrLoad(ctx, "c7", loader)
	require.NoError(t, err)
	assert.Equal(t, "loaded c7", v.Name)
	assert.Equal(t, int64(1), loads.Load(), "a loaded once; b found the value in Redis")
	ttl, err := r.Client.TTL(ctx, r.Key("c7")).Result()
	require.NoError(t, err)
	assert.InDelta(t, DefaultTTL.Seconds(), ttl.Seconds(), 5, "Redis entries carry the TTL")

	_, err = a.GetOrLoad(ctx, "x", nil)
	assert.ErrorIs(t, err, cache.ErrNilLoader)
}

func TestUndecodableRedisValueReadsAsAMiss(t *testing.T) {
	r := testenv.RedisPrefix(t)
	ctx := t.Context()
	c := newInstance(t, r.Client, r.Prefix, nil)
	require.NoError(t, r.Client.Set(ctx, r.Key("bad"), "{not json", time.Minute).Err())
	_, ok := c.Get(ctx, "bad")
	assert.False(t, ok)
	v, err := c.GetOrLoad(ctx, "bad", func(context.Context, string) (customer, error) { return customer{2, "fresh"}, nil })
	require.NoError(t, err)
	assert.Equal(t, "fresh", v.Name)
	assert.Equal(t, uint64(2), c.Stats().CodecErrors)
	raw, err := r.Client.Get(ctx, r.Key("bad")).Result()
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":2,"name":"fresh"}`, raw, "the reload repaired Redis")
}

func TestUnencodableValueIsAnErrorAndWritesNothing(t *testing.T) {
	r := testenv.RedisPrefix(t)
	c, err := New(Config[func()]{Client: r.Client, Prefix: r.Prefix})
	require.NoError(t, err)
	defer c.Close()
	err = c.Set(t.Context(), "f", func() {})
	assert.ErrorContains(t, err, "rediscache: encode value")
	_, ok := c.Local().Get("f")
	assert.False(t, ok)
}

func TestRedisDownDegradesToTheLocalTierWithAMetric(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	c := newInstance(t, down, "keel:test:", func(cfg *Config[customer]) {
		cfg.MeterProvider = mp
		cfg.RetryAfter = time.Hour // so that the count below cannot depend on timing
	})
	ctx := t.Context()
	var loads atomic.Int64
	for range 1000 {
		v, err := c.GetOrLoad(ctx, "c1", func(context.Context, string) (customer, error) {
			loads.Add(1)
			return customer{1, "from the database"}, nil
		})
		require.NoError(t, err, "no error storm: callers are served")
		require.Equal(t, "from the database", v.Name)
	}
	require.NoError(t, c.Set(ctx, "c2", customer{2, "local only"}))
	got, ok := c.Get(ctx, "c2")
	assert.True(t, ok)
	assert.Equal(t, "local only", got.Name)
	c.Delete(ctx, "c2")

	st := c.Stats()
	assert.Equal(t, int64(1), loads.Load())
	assert.True(t, st.Degraded)
	assert.LessOrEqual(t, st.RedisErrors, uint64(2), "Redis is bypassed for RetryAfter after a failure")
	assert.GreaterOrEqual(t, st.RedisErrors, uint64(1))

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	degraded, errorsSeen := int64(-1), int64(0)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case "keel.cache.redis.degraded":
				degraded = m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
			case "keel.cache.redis.errors":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					errorsSeen += dp.Value
				}
			}
		}
	}
	assert.Equal(t, int64(1), degraded)
	assert.Equal(t, int64(st.RedisErrors), errorsSeen)
}

// proxy forwards TCP connections to Redis and can cut them all, to stand
// for a network outage between one instance and Redis.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(out, in); out.Close() })
			p.wg.Go(func() { _, _ = io.Copy(in, out); in.Close() })
		}
	})
}

// cut closes the listener and every connection.
func (p *proxy) cut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// restore listens again on the same address.
func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(p.t, err)
	p.serve(ln)
}

func TestLocalTierIsResyncedAfterTheInvalidationChannelIsLost(t *testing.T) {
	r := testenv.RedisPrefix(t)
	ctx := t.Context()
	px := newProxy(t, r.Addr)
	bClient := redis.NewClient(&redis.Options{Addr: px.addr, MaxRetries: -1})
	t.Cleanup(func() { _ = bClient.Close() })
	a := newInstance(t, r.Client, r.Prefix, nil)
	b := newInstance(t, bClient, r.Prefix, func(cfg *Config[customer]) { cfg.RetryAfter = 20 * time.Millisecond })

	require.NoError(t, a.Set(ctx, "c1", customer{1, "v1"}))
	waitReceived(t, b, 1)
	got, ok := b.Get(ctx, "c1")
	require.True(t, ok)
	require.Equal(t, "v1", got.Name)

	px.cut() // b loses Redis: the invalidation below cannot reach it
	require.NoError(t, a.Set(ctx, "c1", customer{1, "v2"}))
	require.Eventually(t, func() bool { return b.Stats().Degraded }, invalidationBound, time.Millisecond)
	got, _ = b.Get(ctx, "c1")
	assert.Equal(t, "v1", got.Name, "while cut off, b serves its local copy (bounded by Local.TTL)")

	px.restore()
	require.Eventually(t, func() bool { return b.Stats().Resyncs == 1 }, invalidationBound, time.Millisecond,
		"on resubscribing b purges what it may have missed")
	require.Eventually(t, func() bool {
		got, _ := b.Get(ctx, "c1")
		return got.Name == "v2"
	}, invalidationBound, time.Millisecond)
	assert.False(t, b.Stats().Degraded)
}

func TestCloseIsIdempotentAndStopsTheListener(t *testing.T) {
	r := testenv.RedisPrefix(t)
	c, err := New(Config[int]{Client: r.Client, Prefix: r.Prefix})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.GetOrLoad(t.Context(), "k", func(context.Context, string) (int, error) { return 1, nil })
	assert.True(t, errors.Is(err, cache.ErrClosed))
}
