package rediscache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/cache"
	"github.com/redis/go-redis/v9"
)

// instanceIDLen is the length of an instance id in hex digits.
const instanceIDLen = 16

// errRemoteMiss is the private loader result of Get when Redis does not
// have the key; it is never cached.
var errRemoteMiss = errors.New("rediscache: not in redis")

// Cache is a two-tier cache: a local cache.Cache in front of Redis, kept
// coherent across instances by invalidation messages. Create it with New
// and Close it when done. Safe for concurrent use.
type Cache[V any] struct {
	cfg     Config[V]
	local   *cache.Cache[string, V]
	id      string // this instance's id, to ignore its own invalidations
	channel string

	// downUntil is when Redis may be tried again after a failure (Unix ns).
	downUntil atomic.Int64
	degraded  atomic.Bool

	ps     *redis.PubSub
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	counters
	obs *observer
}

type counters struct {
	redisHits, redisMisses, redisErrors, decodeErrors atomic.Uint64
	sent, received, resyncs                           atomic.Uint64
}

// New creates the cache, subscribes to the invalidation channel (waiting
// up to 4 × OpTimeout for the subscription; if Redis is down it starts
// degraded and keeps trying) and starts the goroutine that applies
// invalidations.
func New[V any](cfg Config[V]) (*Cache[V], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	local, err := cache.New(cfg.Local)
	if err != nil {
		return nil, fmt.Errorf("rediscache: Config.Local: %w", err)
	}
	var raw [instanceIDLen / 2]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+)
	c := &Cache[V]{
		cfg:     cfg,
		local:   local,
		id:      hex.EncodeToString(raw[:]),
		channel: cfg.Prefix + invalidationChannel,
		done:    make(chan struct{}),
	}
	if c.obs, err = newObserver(c); err != nil {
		_ = local.Close()
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.ps = cfg.Client.Subscribe(c.ctx, c.channel)
	subscribed := false
	msg, err := c.ps.ReceiveTimeout(c.ctx, 4*cfg.OpTimeout)
	if err != nil {
		c.fail(c.ctx, "subscribe", err)
	} else if _, ok := msg.(*redis.Subscription); ok {
		subscribed = true
	}
	go c.listen(!subscribed)
	return c, nil
}

// Get returns key's value from the local tier, else from Redis (and keeps
// it locally). Redis failures read as a miss (and are counted).
func (c *Cache[V]) Get(ctx context.Context, key string) (V, bool) {
	if v, ok := c.local.Get(key); ok {
		return v, true
	}
	v, err := c.local.GetOrLoad(ctx, key, func(ctx context.Context, key string) (V, error) {
		if v, ok := c.fetch(ctx, key); ok {
			return v, nil
		}
		var zero V
		return zero, errRemoteMiss
	})
	return v, err == nil
}

// GetOrLoad returns key's value from the local tier, else from Redis, else
// from loader, whose result is written to Redis and kept locally. Loads are
// single-flighted per instance (see cache.Cache.GetOrLoad), and the local
// tier's NotFound, refresh-ahead and stale-if-error settings apply. With
// Redis down, loads go straight to loader.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, loader func(ctx context.Context, key string) (V, error)) (V, error) {
	if loader == nil {
		var zero V
		return zero, cache.ErrNilLoader
	}
	return c.local.GetOrLoad(ctx, key, func(ctx context.Context, key string) (V, error) {
		if v, ok := c.fetch(ctx, key); ok {
			return v, nil
		}
		v, err := loader(ctx, key)
		if err == nil {
			c.store(ctx, key, v, false)
		}
		return v, err
	})
}

// Set writes value to Redis and the local tier and tells the other
// instances to drop their local copies. With Redis down only the local tier
// is written (counted, not an error). The error is the codec's, if value
// cannot be encoded; nothing is written then.
func (c *Cache[V]) Set(ctx context.Context, key string, value V) error {
	data, err := c.cfg.Codec.Marshal(value)
	if err != nil {
		return fmt.Errorf("rediscache: encode value: %w", err)
	}
	c.local.Set(key, value)
	c.write(ctx, key, data, true)
	return nil
}

// Delete removes key from Redis and the local tier and tells the other
// instances to drop their local copies.
func (c *Cache[V]) Delete(ctx context.Context, key string) {
	c.local.Delete(key)
	if !c.available() {
		return
	}
	op, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	if err := c.cfg.Client.Del(op, c.cfg.Prefix+key).Err(); err != nil {
		c.fail(ctx, "delete", err)
		return
	}
	c.succeed()
	c.publish(op, ctx, key)
}

// Local returns the local tier, for its statistics or to Purge it.
func (c *Cache[V]) Local() *cache.Cache[string, V] { return c.local }

// Close stops the invalidation listener and closes the local tier. It does
// not close the Redis client. Idempotent.
func (c *Cache[V]) Close() error {
	c.cancel()
	_ = c.ps.Close()
	<-c.done
	c.obs.close()
	return c.local.Close()
}

// available reports whether Redis may be used now (not within RetryAfter
// of a failure).
func (c *Cache[V]) available() bool {
	return time.Now().UnixNano() >= c.downUntil.Load()
}

// fail records a Redis failure and bypasses Redis for RetryAfter. Errors
// caused by the caller's own cancellation are not Redis's fault.
func (c *Cache[V]) fail(ctx context.Context, op string, err error) {
	if ctx.Err() != nil {
		return
	}
	c.redisErrors.Add(1)
	c.obs.redisError(op)
	c.downUntil.Store(time.Now().Add(c.cfg.RetryAfter).UnixNano())
	if !c.degraded.Swap(true) {
		c.cfg.Logger.Warn("rediscache: redis unavailable, serving from the local tier",
			"cache", c.cfg.Local.Name, "operation", op, "error", err, "retry_after", c.cfg.RetryAfter)
	}
}

// succeed records that Redis answered.
func (c *Cache[V]) succeed() {
	if c.degraded.Swap(false) {
		c.cfg.Logger.Info("rediscache: redis reachable again", "cache", c.cfg.Local.Name)
	}
}

// fetch reads key from Redis.
func (c *Cache[V]) fetch(ctx context.Context, key string) (V, bool) {
	var zero V
	if !c.available() {
		return zero, false
	}
	op, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	data, err := c.cfg.Client.Get(op, c.cfg.Prefix+key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		c.succeed()
		c.redisMisses.Add(1)
		return zero, false
	case err != nil:
		c.fail(ctx, "get", err)
		return zero, false
	}
	c.succeed()
	var v V
	if err := c.cfg.Codec.Unmarshal(data, &v); err != nil {
		// A value this version cannot read (corrupt, or written by an
		// incompatible version): treat as a miss so it is reloaded.
		c.decodeErrors.Add(1)
		return zero, false
	}
	c.redisHits.Add(1)
	return v, true
}

// store encodes and writes a loaded value to Redis.
func (c *Cache[V]) store(ctx context.Context, key string, v V, invalidate bool) {
	data, err := c.cfg.Codec.Marshal(v)
	if err != nil {
		c.decodeErrors.Add(1)
		return
	}
	c.write(ctx, key, data, invalidate)
}

// write SETs key with the Redis TTL and, for a write that replaces data,
// publishes an invalidation.
func (c *Cache[V]) write(ctx context.Context, key string, data []byte, invalidate bool) {
	if !c.available() {
		return
	}
	op, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	if err := c.cfg.Client.Set(op, c.cfg.Prefix+key, data, c.cfg.TTL).Err(); err != nil {
		c.fail(ctx, "set", err)
		return
	}
	c.succeed()
	if invalidate {
		c.publish(op, ctx, key)
	}
}

// publish tells the other instances to drop key from their local tier.
func (c *Cache[V]) publish(op, caller context.Context, key string) {
	if err := c.cfg.Client.Publish(op, c.channel, encodeInvalidation(c.id, key)).Err(); err != nil {
		c.fail(caller, "publish", err)
		return
	}
	c.sent.Add(1)
}

// listen applies invalidations from the other instances until Close. When
// the subscription is lost, messages may have been missed, so the local
// tier is purged once the subscription is back.
func (c *Cache[V]) listen(lost bool) {
	defer close(c.done)
	for {
		msg, err := c.ps.Receive(c.ctx)
		if c.ctx.Err() != nil {
			return
		}
		if err != nil {
			c.fail(c.ctx, "subscribe", err)
			lost = true
			t := time.NewTimer(c.cfg.RetryAfter)
			select {
			case <-c.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if lost && m.Kind == "subscribe" {
				c.local.Purge()
				c.resyncs.Add(1)
				c.succeed()
				lost = false
			}
		case *redis.Message:
			id, key, ok := decodeInvalidation(m.Payload)
			if ok && id != c.id {
				c.received.Add(1)
				c.local.Delete(key)
			}
		}
	}
}

// An invalidation message is "<instance id>:<key>". The id (16 hex
// digits) lets an instance ignore its own messages; the key may contain
// any byte, colons included.
func encodeInvalidation(id, key string) string { return id + ":" + key }

// decodeInvalidation splits a message; ok is false for a payload that no
// instance of this package wrote (foreign publishers on the channel).
func decodeInvalidation(payload string) (id, key string, ok bool) {
	id, key, ok = strings.Cut(payload, ":")
	if !ok || len(id) != instanceIDLen {
		return "", "", false
	}
	return id, key, true
}

// Stats is a snapshot of the two-tier cache's counters.
type Stats struct {
	// Local is the local tier's statistics.
	Local cache.Stats
	// RedisHits and RedisMisses count reads that reached Redis.
	RedisHits, RedisMisses uint64
	// RedisErrors counts failed Redis commands (each bypasses Redis for
	// RetryAfter).
	RedisErrors uint64
	// CodecErrors counts values that could not be decoded from (or encoded
	// for) Redis; an undecodable value reads as a miss.
	CodecErrors uint64
	// InvalidationsSent and InvalidationsReceived count messages published
	// by this instance and applied from others.
	InvalidationsSent, InvalidationsReceived uint64
	// Resyncs counts local-tier purges after the invalidation channel was
	// lost and regained.
	Resyncs uint64
	// Degraded is true while Redis is failing and the local tier serves alone.
	Degraded bool
}

// Stats returns a snapshot of the counters.
func (c *Cache[V]) Stats() Stats {
	return Stats{
		Local:                 c.local.Stats(),
		RedisHits:             c.redisHits.Load(),
		RedisMisses:           c.redisMisses.Load(),
		RedisErrors:           c.redisErrors.Load(),
		CodecErrors:           c.decodeErrors.Load(),
		InvalidationsSent:     c.sent.Load(),
		InvalidationsReceived: c.received.Load(),
		Resyncs:               c.resyncs.Load(),
		Degraded:              c.degraded.Load(),
	}
}
