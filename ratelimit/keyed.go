package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// DefaultMaxKeys is the number of keys a Keyed limiter tracks when
// KeyedConfig.MaxKeys is zero.
const DefaultMaxKeys = 100_000

// maxShards bounds the number of independently locked parts of a Keyed
// limiter; minShardKeys keeps every part large enough that uneven hashing
// does not evict early.
const (
	maxShards    = 32
	minShardKeys = 64
)

// KeyedConfig configures a Keyed limiter: one token bucket per key (API key,
// user, client IP), each refilling at Limit units per Period with capacity
// Burst, kept in a bounded LRU map.
type KeyedConfig struct {
	// Name identifies the limiter in errors, metrics and HTTP headers.
	// Default "default".
	Name string
	// Limit is the number of units restored per Period to each key's bucket.
	// Required (> 0).
	Limit int
	// Period is the time over which Limit units are restored. Default 1s.
	Period time.Duration
	// Burst is each bucket's capacity. Default Limit.
	Burst int
	// MaxKeys bounds how many keys are tracked at once, and so the memory
	// used whatever the number of distinct keys. When it is reached, the
	// least recently used key is forgotten; if that key was still active it
	// starts again with a full bucket (counted by keel.ratelimit.keys.evicted).
	// Default DefaultMaxKeys.
	MaxKeys int
	// IdleTimeout is how long a key may go unused before it is forgotten.
	// Default: the time an empty bucket takes to refill, so forgetting an
	// idle key never changes a decision. A shorter timeout saves memory but
	// lets a key that pauses that long start again with a full bucket.
	IdleTimeout time.Duration
	// MeterProvider supplies the meter. Default: the otel global.
	MeterProvider metric.MeterProvider
	// TracerProvider supplies the tracer for waits. Default: the otel global.
	TracerProvider trace.TracerProvider
}

// Keyed is a set of token buckets, one per key, held in a bounded map with
// idle expiry. It is safe for concurrent use. Allow on a key already tracked
// does not allocate.
type Keyed struct {
	cfg  rateConfig
	name string
	idle time.Duration
	// idleResets is true when IdleTimeout is shorter than the time a bucket
	// takes to refill, so an idle key's bucket must be replaced by a full one.
	idleResets bool
	seed       maphash.Seed
	mask       uint64
	shards     []keyedShard
	tel        *telemetry
	once       sync.Once
}

// keyedShard is one independently locked part of the map. Counters live here,
// under the shard's lock, so that the hot path touches one cache line.
type keyedShard struct {
	mu      sync.Mutex
	lru     *simplelru.LRU[string, *keyedEntry]
	allowed int64
	limited int64
	evicted int64
	_       [64]byte // keeps neighbouring shards' locks off one cache line
}

type keyedEntry struct {
	bucket   *rate.Limiter
	lastUsed time.Time
}

// maxEvictionsPerInsert bounds the work an insert does to forget idle keys,
// so that one call never pays for a long quiet period.
const maxEvictionsPerInsert = 8

// NewKeyed returns a Keyed limiter, or an error naming the first invalid
// KeyedConfig field.
func NewKeyed(cfg KeyedConfig) (*Keyed, error) {
	rc, err := validateRate("KeyedConfig", cfg.Limit, cfg.Period, cfg.Burst)
	if err != nil {
		return nil, err
	}
	if cfg.MaxKeys < 0 {
		return nil, fmt.Errorf("ratelimit: KeyedConfig.MaxKeys must be >= 0 (0 means %d), got %d", DefaultMaxKeys, cfg.MaxKeys)
	}
	if cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("ratelimit: KeyedConfig.IdleTimeout must be >= 0 (0 means the full refill time), got %s", cfg.IdleTimeout)
	}
	maxKeys := cfg.MaxKeys
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	idle := cfg.IdleTimeout
	if idle == 0 {
		idle = rc.fullRefill()
	}
	n := maxShards
	for n > 1 && maxKeys/n < minShardKeys {
		n /= 2
	}
	k := &Keyed{
		cfg:        rc,
		name:       nameOr(cfg.Name),
		idle:       idle,
		idleResets: idle < rc.fullRefill(),
		seed:       maphash.MakeSeed(),
		mask:       uint64(n - 1),
		shards:     make([]keyedShard, n),
	}
	for i := range k.shards {
		// Each shard holds an equal share; the total never exceeds maxKeys.
		lru, err := simplelru.NewLRU[string, *keyedEntry](maxKeys/n, nil)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: KeyedConfig.MaxKeys: %w", err)
		}
		k.shards[i].lru = lru
	}
	if err := k.instrument(cfg); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keyed) instrument(cfg KeyedConfig) error {
	var err error
	k.tel, err = newTelemetry(k.name, cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return err
	}
	decisions, err := k.tel.decisionsCounter()
	if err != nil {
		return err
	}
	keys, err := k.tel.meter.Int64ObservableGauge("keel.ratelimit.keys",
		metric.WithUnit("{key}"),
		metric.WithDescription("Keys a keyed limiter currently tracks."))
	if err != nil {
		return err
	}
	evicted, err := k.tel.meter.Int64ObservableCounter("keel.ratelimit.keys.evicted",
		metric.WithUnit("{key}"),
		metric.WithDescription("Keys forgotten while still active because MaxKeys was reached; each restarts with a full bucket."))
	if err != nil {
		return err
	}
	nameOnly := metric.WithAttributes(attrName.String(k.name))
	return k.tel.register(func(_ context.Context, o metric.Observer) error {
		var allowed, limited, ev, n int64
		for i := range k.shards {
			s := &k.shards[i]
			s.mu.Lock()
			allowed += s.allowed
			limited += s.limited
			ev += s.evicted
			n += int64(s.lru.Len())
			s.mu.Unlock()
		}
		o.ObserveInt64(decisions, allowed, k.tel.allowed)
		o.ObserveInt64(decisions, limited, k.tel.limited)
		o.ObserveInt64(keys, n, nameOnly)
		o.ObserveInt64(evicted, ev, nameOnly)
		return nil
	}, decisions, keys, evicted)
}

func (k *Keyed) shard(key string) *keyedShard {
	return &k.shards[maphash.String(k.seed, key)&k.mask]
}

// entry returns key's bucket, creating it when key is new or was idle past
// IdleTimeout. The caller holds s.mu.
func (k *Keyed) entry(s *keyedShard, key string, now time.Time) *keyedEntry {
	if e, ok := s.lru.Get(key); ok {
		if k.idleResets && now.Sub(e.lastUsed) >= k.idle {
			// Idle past a timeout shorter than the refill time: behave exactly
			// as a new key would. (With the default timeout the bucket has
			// refilled by itself.)
			e.bucket = rate.NewLimiter(k.cfg.rate(), k.cfg.burst)
		}
		e.lastUsed = now
		return e
	}
	for range maxEvictionsPerInsert {
		_, oldest, ok := s.lru.GetOldest()
		if !ok || now.Sub(oldest.lastUsed) < k.idle {
			break
		}
		s.lru.RemoveOldest()
	}
	e := &keyedEntry{bucket: rate.NewLimiter(k.cfg.rate(), k.cfg.burst), lastUsed: now}
	// The map keeps its own copy of key, so a key sliced from a large buffer
	// (a header, a request body) does not pin that buffer.
	if s.lru.Add(strings.Clone(key), e) {
		s.evicted++
	}
	return e
}

// Allow takes one unit from key's bucket if one is available now and reports
// whether it did. It never blocks, and does not allocate when key is already
// tracked.
func (k *Keyed) Allow(key string) bool {
	now := time.Now()
	s := k.shard(key)
	s.mu.Lock()
	ok := k.entry(s, key, now).bucket.AllowN(now, 1)
	if ok {
		s.allowed++
	} else {
		s.limited++
	}
	s.mu.Unlock()
	return ok
}

// Take is Allow with the detail a response header needs. The error is always
// nil; it is there so that Keyed and the Redis limiter share one interface
// (Taker).
func (k *Keyed) Take(_ context.Context, key string) (Decision, error) {
	now := time.Now()
	s := k.shard(key)
	s.mu.Lock()
	b := k.entry(s, key, now).bucket
	ok := b.AllowN(now, 1)
	tokens := b.TokensAt(now)
	if ok {
		s.allowed++
	} else {
		s.limited++
	}
	s.mu.Unlock()
	return DecisionFromTokens(ok, tokens, k.cfg.burst, k.cfg.interval()), nil
}

// Wait blocks until a unit of key's bucket is available and takes it. It
// returns ctx.Err() if ctx ends first, and a *LimitedError at once when ctx's
// deadline comes before the unit would.
func (k *Keyed) Wait(ctx context.Context, key string) error {
	now := time.Now()
	s := k.shard(key)
	s.mu.Lock()
	e := k.entry(s, key, now)
	r := e.bucket.ReserveN(now, 1)
	if r.OK() {
		// The bucket is in use until the reserved unit is due: its idle time
		// starts then, not now.
		e.lastUsed = now.Add(r.DelayFrom(now))
	}
	s.mu.Unlock()
	err := waitReservation(ctx, k.tel, r, now)
	if err == nil || errors.Is(err, ErrLimited) {
		s.mu.Lock()
		if err == nil {
			s.allowed++
		} else {
			s.limited++
		}
		s.mu.Unlock()
	}
	return err
}

// Len returns the number of keys currently tracked (at most MaxKeys).
func (k *Keyed) Len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// Policy describes the per-key limit for clients.
func (k *Keyed) Policy() Policy { return k.cfg.policy(k.name) }

// Close unregisters the limiter's metric callback. The limiter still works
// after Close. Close is idempotent.
func (k *Keyed) Close() error {
	var err error
	k.once.Do(func() { err = k.tel.close() })
	return err
}
