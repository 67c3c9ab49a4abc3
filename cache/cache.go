package cache

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by GetOrLoad and GetOrLoadMany after Close.
var ErrClosed = errors.New("cache: closed")

// ErrTooHeavy is returned by Set and SetWithTTL for an entry that weighs
// more than MaxWeight (Config.Weigher): it is not stored, since making room
// for it would evict a whole shard. The returned error wraps it with the
// weight and the limit.
var ErrTooHeavy = errors.New("cache: entry weighs more than a shard's capacity")

// Cache is a concurrent, size-bounded, TTL cache with stampede-proof
// loading. Create it with New; it is safe for concurrent use. Close it to
// stop its cleanup goroutine and in-flight loads.
type Cache[K comparable, V any] struct {
	cfg       Config[K, V]
	seed      keySeed[K]
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
	// valueKind says whether values are replaced in place (inplace.go).
	valueKind valueKind

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
		seed:      newKeySeed[K](),
		nShards:   uint64(cfg.Shards),
		staleNano: int64(cfg.StaleIfError),
		clock:     newClock(),
		valueKind: kindOf[V](),
	}
	c.shards = make([]*shard[K, V], cfg.Shards)
	for i := range c.shards {
		// Split Capacity exactly: the shards' capacities sum to it.
		n := cfg.Capacity / cfg.Shards
		if i < cfg.Capacity%cfg.Shards {
			n++
		}
		s := newShard[K, V](c.seed, n, cfg.Admission, cfg.Weigher != nil)
		// The cache samples once it holds about sampleMinEntries entries,
		// counted by each shard from its share of the keys.
		s.sampleMin = max(1, sampleMinEntries/cfg.Shards)
		c.shards[i] = s
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

// shardFor returns key's shard and hash. The shard index comes from the
// hash's high bits (multiply-shift, no power-of-two restriction).
func (c *Cache[K, V]) shardFor(key K) (*shard[K, V], uint64) {
	h := hashKey(c.seed, key)
	return c.shards[((h>>32)*c.nShards)>>32], h
}

// liveAt reports whether n is live now, for a lookup, and the time it
// decided by. With ExpireAfterAccess it reads the OS clock: a hit slides
// the entry from that time, which must be the clock's. With RefreshAhead
// the lookup's outcome also changes at the refresh point, so the
// counter's time may decide only up to tscGuard before that.
func (c *Cache[K, V]) liveAt(n *node[K, V]) (bool, int64) {
	expires := n.expires.Load()
	switch {
	case expires == 0:
		return true, 0
	case c.cfg.ExpireAfterAccess:
		t := c.now()
		return t < expires, t
	}
	limit := expires
	if c.cfg.RefreshAhead > 0 && n.life != 0 && n.missing == nil {
		limit = min(limit, c.refreshPoint(n))
	}
	t := c.clock.lookupTime(limit)
	return t < expires, t
}

// now reads the OS clock (lookups use c.liveAt, which reads a time only
// for entries that expire, and may read the time-stamp counter).
func (c *Cache[K, V]) now() int64 { return c.clock.precise() }

// Get returns the live value for key. Expired entries, stale entries kept
// for StaleIfError and cached NotFound results all read as absent. With
// ExpireAfterAccess a hit extends the entry's life. A hit takes no lock and
// writes only the read-buffer stripe of the P it runs on.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	s, h := c.shardFor(key)
	if n := s.index.get(key, h); n != nil {
		live, t := c.liveAt(n)
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
			return loadValue(c.valueKind, n), true
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

// Set stores value under key with the configured TTL (or the lifetime
// Config.ExpireAfter gives it), shortened by the jitter. It returns nil,
// or, with a Weigher, an error wrapping ErrTooHeavy for a value heavier
// than MaxWeight, which is not stored (and the key's older value is
// removed).
func (c *Cache[K, V]) Set(key K, value V) error {
	return c.set(key, value, 0, false)
}

// SetWithTTL stores value under key for ttl (ttl <= 0: never expires),
// shortened by the configured jitter; Config.ExpireAfter is not asked. A
// load in flight for key is not allowed to overwrite this value when it
// finishes. The error is Set's.
func (c *Cache[K, V]) SetWithTTL(key K, value V, ttl time.Duration) error {
	return c.set(key, value, ttl, true)
}

func (c *Cache[K, V]) set(key K, value V, ttl time.Duration, explicit bool) error {
	s, h := c.shardFor(key)
	t := c.now()
	switch {
	case !explicit:
		ttl = c.lifetime(s, key, h, value, t)
	case ttl < 0:
		ttl = 0 // SetWithTTL: never expires
	}
	w := c.weigh(key, value)
	// The node a write of a new key (or of a value not written in place)
	// needs is built before the lock: allocating it, and drawing its
	// jitter, inside would lengthen every write's hold of the lock, which
	// other writers of the shard wait for. A lock-free lookup tells which
	// case is likely; if the locked one disagrees, the node is built there,
	// or left to the collector.
	var fresh *node[K, V]
	if int64(w) <= int64(s.capacity) && (c.valueKind == boxedValue || s.index.get(key, h) == nil) {
		fresh = c.newNode(key, value, nil, ttl, w, t)
	}
	var evs evictions[K, V]
	s.mu.Lock()
	s.drainBeforeWrite()
	s.supersedeFlight(key)
	if int64(w) > int64(s.capacity) {
		s.reject(key, h, t, &evs)
		s.mu.Unlock()
		c.notifyAll(&evs)
		return fmt.Errorf("%w: weight %d, limit %d (Config.Capacity / Config.Shards)", ErrTooHeavy, w, s.capacity)
	}
	if old := s.index.get(key, h); old == nil || !c.updateInPlace(s, old, value, ttl, w, t) {
		if fresh == nil {
			fresh = c.newNode(key, value, nil, ttl, w, t)
		}
		s.put(key, h, fresh, t, &evs)
	}
	s.mu.Unlock()
	c.notifyAll(&evs)
	return nil
}

// lifetime is the TTL of value written under key at t: Config.TTL, or
// Config.ExpireAfter's answer, which is told about the live entry the
// write replaces. Called without the lock (ExpireAfter is user code); the
// entry it sees may be replaced before the write takes the lock, which
// only means the answer was computed for the write before.
func (c *Cache[K, V]) lifetime(s *shard[K, V], key K, h uint64, value V, t int64) time.Duration {
	if c.cfg.ExpireAfter == nil {
		return c.cfg.TTL
	}
	var w Write
	if n := s.index.get(key, h); n != nil && n.missing == nil {
		switch e := n.expires.Load(); {
		case e == 0:
			w.Update = true
		case t < e:
			w.Update, w.Remaining = true, time.Duration(e-t)
		}
	}
	d := c.cfg.ExpireAfter(key, value, w)
	if d < 0 {
		return expiredAtWrite
	}
	return d
}

// weigh is the weight of an entry: 1 without a Weigher, and never below 1.
func (c *Cache[K, V]) weigh(key K, value V) uint32 {
	if c.cfg.Weigher == nil {
		return 1
	}
	return max(c.cfg.Weigher(key, value), 1)
}

// MaxWeight is the heaviest entry the cache stores: the smallest shard's
// capacity, Config.Capacity / Config.Shards rounded down. Without a
// Weigher every entry weighs 1.
func (c *Cache[K, V]) MaxWeight() int {
	return c.cfg.Capacity / c.cfg.Shards
}

// reject removes the older value of a key whose new value was refused for
// its weight: the older value is out of date. Lock held.
func (s *shard[K, V]) reject(key K, h uint64, now int64, evs *evictions[K, V]) {
	// The key's older value leaves with it (it is out of date), and like
	// every entry that leaves it is reported to OnEvict: a user who keeps
	// accounts there would drift otherwise.
	if n := s.remove(key, h); n != nil && n.missing == nil {
		reason := Evicted
		if !n.liveAt(now) {
			reason = Expired
		}
		evs.add(eviction[K, V]{key: n.key, value: n.value, reason: reason}, true)
	}
	s.rejected++
}

// expiredAtWrite is the lifetime of an entry whose ExpireAfter answer was
// negative: it expires at the instant it is written.
const expiredAtWrite time.Duration = -1

// newNode builds an entry of weight w written at t living ttl (jittered;
// 0: for ever; expiredAtWrite: expired already).
func (c *Cache[K, V]) newNode(key K, value V, err error, ttl time.Duration, w uint32, t int64) *node[K, V] {
	it := &node[K, V]{key: key, value: value, weight: w}
	if err != nil {
		it.missing = &notFound{err}
	}
	life, expires := c.lifeFrom(ttl, t)
	it.life = life
	it.expires.Store(expires)
	return it
}

// lifeFrom is the (jittered) lifetime and the expiry of an entry written
// at t living ttl (0: for ever; expiredAtWrite: expired already).
func (c *Cache[K, V]) lifeFrom(ttl time.Duration, t int64) (life, expires int64) {
	switch {
	case ttl == expiredAtWrite:
		return 0, t // t >= 1: the clock starts at 1
	case ttl <= 0:
		return 0, 0
	}
	d := int64(ttl)
	if c.cfg.TTLJitter > 0 {
		d -= int64(float64(d) * c.cfg.TTLJitter * randomFraction())
		d = max(d, 1)
	}
	return d, t + d
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
			s.ghosts.ref.reset()
			s.climber.favour = 0
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

// notifyAll reports a write's evictions to OnEvict; never called with a
// lock held.
func (c *Cache[K, V]) notifyAll(evs *evictions[K, V]) {
	if evs.n == 0 || c.cfg.OnEvict == nil {
		return
	}
	c.notify(evs.first)
	for _, ev := range evs.more {
		c.notify(ev)
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
		hits, misses := s.reads.counts(s.admission)
		st.Hits += hits
		st.Misses += misses
		s.mu.Lock()
		st.Hits += s.hits
		st.Misses += s.misses
		st.Evicted += s.evicted
		st.Expired += s.expired
		st.Deleted += s.deletedN
		st.Rejected += s.rejected
		st.Weight += int64(s.window.Weight())
		if s.sketch != nil {
			st.Weight += int64(s.mainWeight())
		}
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
