package cache

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by GetOrLoad and GetOrLoadMany after Close.
var ErrClosed = errors.New("cache: closed")

// Cache is a concurrent, size-bounded, TTL cache with stampede-proof
// loading. Create it with New; it is safe for concurrent use. Close it to
// stop its cleanup goroutine and in-flight loads.
type Cache[K comparable, V any] struct {
	cfg       Config[K, V]
	seed      maphash.Seed
	shards    []*shard[K, V]
	nShards   uint64
	staleNano int64

	// lifecycle: loads and the janitor run under closeCtx; Close cancels it
	// and waits for them. spawnMu orders spawning against Close.
	closeCtx  context.Context
	cancel    context.CancelFunc
	spawnMu   sync.RWMutex
	closed    bool
	isClosed  atomic.Bool // closed, for the lookups' check without spawnMu
	workers   sync.WaitGroup
	closeOnce sync.Once

	clock *clock

	loadCounters
	obs *observer
}

// New creates a cache from cfg, validating it (the error names the field).
func New[K comparable, V any](cfg Config[K, V]) (*Cache[K, V], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache[K, V]{
		cfg:       cfg,
		seed:      maphash.MakeSeed(),
		nShards:   uint64(cfg.Shards),
		staleNano: int64(cfg.StaleIfError),
		clock:     newClock(),
	}
	c.shards = make([]*shard[K, V], cfg.Shards)
	for i := range c.shards {
		// Split Capacity exactly: the shards' capacities sum to it.
		n := cfg.Capacity / cfg.Shards
		if i < cfg.Capacity%cfg.Shards {
			n++
		}
		c.shards[i] = newShard[K, V](c.seed, n, cfg.Admission)
	}
	c.closeCtx, c.cancel = context.WithCancel(context.Background())
	c.obs, err = newObserver(c)
	if err != nil {
		c.cancel()
		return nil, err
	}
	if cfg.CleanupInterval > 0 {
		c.workers.Add(1)
		go c.janitor(cfg.CleanupInterval)
	}
	return c, nil
}

// hashKey hashes any comparable key with the cache's seed.
func hashKey[K comparable](seed maphash.Seed, key K) uint64 {
	return maphash.Comparable(seed, key)
}

// shardFor returns key's shard and hash. The shard index comes from the
// hash's high bits (multiply-shift, no power-of-two restriction).
func (c *Cache[K, V]) shardFor(key K) (*shard[K, V], uint64) {
	h := hashKey(c.seed, key)
	return c.shards[((h>>32)*c.nShards)>>32], h
}

// now reads the cache's clock (lookups use c.clock.liveAt, which reads it
// only for entries that expire).
func (c *Cache[K, V]) now() int64 { return c.clock.precise() }

// Get returns the live value for key. Expired entries, stale entries kept
// for StaleIfError and cached NotFound results all read as absent. With
// ExpireAfterAccess a hit extends the entry's life. A hit takes no lock and
// writes only the read-buffer stripe of the P it runs on.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	s, h := c.shardFor(key)
	if n := s.index.get(key, h); n != nil {
		live, t := c.clock.liveAt(n.expires.Load())
		if !live {
			c.expireOnRead(s, key, h, n, t)
			var zero V
			return zero, false
		}
		if n.missing == nil {
			if c.cfg.ExpireAfterAccess {
				n.slide(t)
			}
			s.hit(n)
			return n.value, true
		}
	}
	s.miss()
	var zero V
	return zero, false
}

// expireOnRead handles a lookup that found n expired at t: it counts the
// miss and removes the entry (unless StaleIfError keeps it, or it was
// replaced meanwhile).
func (c *Cache[K, V]) expireOnRead(s *shard[K, V], key K, h uint64, n *node[K, V], t int64) {
	s.mu.Lock()
	s.drainBeforeWrite()
	s.misses++
	s.climb(false)
	var ev eviction[K, V]
	report := false
	if s.index.get(key, h) == n {
		ev, report = c.dropExpired(s, key, h, n, t)
	}
	s.mu.Unlock()
	if report {
		c.notify(ev)
	}
}

// dropExpired removes an expired entry unless StaleIfError still keeps it.
// Called with s.mu held.
func (c *Cache[K, V]) dropExpired(s *shard[K, V], key K, h uint64, it *node[K, V], t int64) (eviction[K, V], bool) {
	if it.keepAt(t, c.staleNano) {
		return eviction[K, V]{}, false
	}
	s.remove(key, h)
	s.expired++
	if it.missing != nil {
		return eviction[K, V]{}, false
	}
	return eviction[K, V]{key: key, value: it.value, reason: Expired}, true
}

// Set stores value under key with the configured TTL (and jitter).
func (c *Cache[K, V]) Set(key K, value V) {
	c.SetWithTTL(key, value, c.cfg.TTL)
}

// SetWithTTL stores value under key for ttl (ttl <= 0: never expires),
// shortened by the configured jitter. A load in flight for key is not
// allowed to overwrite this value when it finishes.
func (c *Cache[K, V]) SetWithTTL(key K, value V, ttl time.Duration) {
	t := c.now()
	it := c.newNode(key, value, nil, ttl, t)
	s, h := c.shardFor(key)
	s.mu.Lock()
	s.drainBeforeWrite()
	s.supersedeFlight(key)
	ev, report := s.put(key, h, it, t)
	s.mu.Unlock()
	if report {
		c.notify(ev)
	}
}

// newNode builds an entry written at t living ttl (jittered).
func (c *Cache[K, V]) newNode(key K, value V, err error, ttl time.Duration, t int64) *node[K, V] {
	it := &node[K, V]{key: key, value: value}
	if err != nil {
		it.missing = &notFound{err}
	}
	if ttl > 0 {
		d := int64(ttl)
		if c.cfg.TTLJitter > 0 {
			d -= int64(float64(d) * c.cfg.TTLJitter * randomFraction())
			d = max(d, 1)
		}
		it.life = d
		it.expires.Store(t + d)
	}
	return it
}

// randomFraction returns a uniform float64 in [0, 1) from crypto/rand.
func randomFraction() float64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return float64(binary.LittleEndian.Uint64(b[:])>>11) / (1 << 53)
}

// Delete removes key and reports whether a live entry was there. A load
// in flight for key is not allowed to store its result.
func (c *Cache[K, V]) Delete(key K) bool {
	s, h := c.shardFor(key)
	t := c.now()
	s.mu.Lock()
	s.drainBeforeWrite()
	s.supersedeFlight(key)
	it := s.remove(key, h)
	if it != nil {
		s.deletedN++
	}
	s.mu.Unlock()
	if it == nil || it.missing != nil {
		return false
	}
	if c.cfg.OnEvict != nil {
		c.cfg.OnEvict(key, it.value, Deleted)
	}
	return it.liveAt(t)
}

// Len returns the number of live entries (expired, stale and NotFound
// entries are not counted). It visits every entry: O(n).
func (c *Cache[K, V]) Len() int {
	t := c.now()
	n := 0
	for _, s := range c.shards {
		s.mu.Lock()
		for _, it := range s.index.nodes() {
			if it.missing == nil && it.liveAt(t) {
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// Purge removes every entry; OnEvict sees each live one as Deleted.
func (c *Cache[K, V]) Purge() {
	for _, s := range c.shards {
		var evs []eviction[K, V]
		s.mu.Lock()
		s.drainAll()
		for k := range s.flights {
			s.supersedeFlight(k)
		}
		if c.cfg.OnEvict != nil {
			for _, it := range s.index.nodes() {
				if it.missing == nil {
					evs = append(evs, eviction[K, V]{key: it.key, value: it.value, reason: Deleted})
				}
			}
		}
		for _, seg := range s.segments() {
			s.deletedN += uint64(seg.Len())
			seg.purge()
		}
		s.index.clear()
		if s.sketch != nil {
			s.sketch.reset()
		}
		s.mu.Unlock()
		for _, ev := range evs {
			c.notify(ev)
		}
	}
}

// All iterates over the live entries, shard by shard. Each shard is
// copied under its lock and yielded without it, so the loop body may use
// the cache; entries changed meanwhile may or may not be seen.
func (c *Cache[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, s := range c.shards {
			t := c.now()
			var keys []K
			var vals []V
			s.mu.Lock()
			for _, it := range s.index.nodes() {
				if it.missing == nil && it.liveAt(t) {
					keys = append(keys, it.key)
					vals = append(vals, it.value)
				}
			}
			s.mu.Unlock()
			for i := range keys {
				if !yield(keys[i], vals[i]) {
					return
				}
			}
		}
	}
}

// notify reports an eviction to OnEvict; never called with a lock held.
func (c *Cache[K, V]) notify(ev eviction[K, V]) {
	if c.cfg.OnEvict != nil {
		c.cfg.OnEvict(ev.key, ev.value, ev.reason)
	}
}

// Close stops the cleanup goroutine, cancels loads in flight (their
// waiters get the cancellation error, or a stale value) and waits for
// them. Get, Set and Delete keep working afterwards; GetOrLoad and
// GetOrLoadMany return ErrClosed. Close is idempotent and returns nil.
func (c *Cache[K, V]) Close() error {
	c.closeOnce.Do(func() {
		c.spawnMu.Lock()
		c.closed = true
		c.isClosed.Store(true)
		c.spawnMu.Unlock()
		c.cancel()
		c.workers.Wait()
		c.obs.close()
	})
	return nil
}

// spawn runs fn on a goroutine that Close waits for, unless the cache is
// closed, in which case it reports false and runs nothing.
func (c *Cache[K, V]) spawn(fn func()) bool {
	c.spawnMu.RLock()
	defer c.spawnMu.RUnlock()
	if c.closed {
		return false
	}
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		fn()
	}()
	return true
}

// janitor removes entries past their expiry (and stale grace) every
// interval, so that memory is returned and OnEvict learns of them.
func (c *Cache[K, V]) janitor(interval time.Duration) {
	defer c.workers.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.closeCtx.Done():
			return
		case <-tick.C:
			c.sweep()
		}
	}
}

// sweep removes expired entries from every shard.
func (c *Cache[K, V]) sweep() {
	for _, s := range c.shards {
		t := c.now()
		var evs []eviction[K, V]
		s.mu.Lock()
		s.drainAll() // records of goroutines that stopped reading
		for _, it := range s.index.nodes() {
			if it.keepAt(t, c.staleNano) {
				continue
			}
			s.remove(it.key, hashKey(c.seed, it.key))
			s.expired++
			if it.missing == nil {
				evs = append(evs, eviction[K, V]{key: it.key, value: it.value, reason: Expired})
			}
		}
		s.mu.Unlock()
		for _, ev := range evs {
			c.notify(ev)
		}
	}
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache[K, V]) Stats() Stats {
	st := c.loadCounters.snapshot()
	for _, s := range c.shards {
		records, misses := s.reads.counts()
		if s.admission {
			records -= misses // each lock-free miss was recorded too
		}
		st.Hits += records
		st.Misses += misses
		s.mu.Lock()
		st.Hits += s.hits
		st.Misses += s.misses
		st.Evicted += s.evicted
		st.Expired += s.expired
		st.Deleted += s.deletedN
		st.Stored += s.len()
		s.mu.Unlock()
	}
	return st
}

// loadCounters are the load-side counters (loads are rare next to reads,
// so shared atomics cost nothing that matters).
type loadCounters struct {
	loadSuccesses, loadErrors, loadsNotFound atomic.Uint64
	loadNanos                                atomic.Int64
	staleServed                              atomic.Uint64
	refreshes, refreshErrors                 atomic.Uint64
}

func (l *loadCounters) snapshot() Stats {
	return Stats{
		LoadSuccesses: l.loadSuccesses.Load(),
		LoadErrors:    l.loadErrors.Load(),
		LoadsNotFound: l.loadsNotFound.Load(),
		LoadTime:      time.Duration(l.loadNanos.Load()),
		StaleServed:   l.staleServed.Load(),
		Refreshes:     l.refreshes.Load(),
		RefreshErrors: l.refreshErrors.Load(),
	}
}
