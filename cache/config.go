package cache

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Defaults used for zero Config fields.
const (
	DefaultCapacity        = 10_000
	DefaultLoadTimeout     = 10 * time.Second
	DefaultCleanupInterval = 5 * time.Second
	DefaultName            = "default"
	// defaultNegativeTTLWithoutTTL is the negative-entry lifetime when the
	// cache itself has no TTL: "not found" must not be cached for ever,
	// since the row may be created at any time.
	defaultNegativeTTLWithoutTTL = 10 * time.Second
	// minShardCapacity keeps automatic sharding from splitting a small
	// cache into shards so small that the per-shard LRU order departs
	// noticeably from a global LRU order (hit ratio) — see shardCount.
	minShardCapacity = 4096
)

// Config configures a Cache. The zero value of every field means the
// documented default; New validates the rest.
type Config[K comparable, V any] struct {
	// Capacity is the most entries the cache holds, expired ones not yet
	// removed included; with a Weigher, the most total weight. It is never exceeded, even under concurrent
	// writes. Each shard holds an exact share of it, so with several shards
	// the cache starts evicting a little before it holds Capacity entries
	// (keys do not spread perfectly evenly: at 100 000 entries in 8 shards,
	// about 0.3 % sooner). Default DefaultCapacity (10 000).
	Capacity int

	// Shards splits the cache into parts selected by key hash, each with
	// its own write lock, for concurrent write throughput (reads take no
	// lock). Each shard gets an equal part of
	// Capacity and runs its own eviction order. Default: 4 per CPU
	// (GOMAXPROCS), reduced so that no shard holds fewer than 4096 entries:
	// a cache of fewer than 8192 entries gets one shard and evicts exactly
	// like one LRU, and larger ones stay within a few hundredths of a point
	// of its hit ratio (docs/BENCHMARKS.md). Must not exceed Capacity.
	Shards int

	// Weigher, if set, makes Capacity a bound on the entries' total weight
	// instead of their number (bytes, for example): each entry weighs
	// Weigher(key, value), asked once when the entry is written, so a value
	// must not change weight while stored. A weight of 0 counts as 1, so
	// the number of entries stays within Capacity too. An entry heavier
	// than its shard's share of Capacity (MaxWeight: Capacity / Shards,
	// rounded down) is refused rather than allowed to empty the cache: Set
	// returns ErrTooHeavy, a loaded value is returned to its callers but not
	// stored, and in both cases the key's older value, if any, is removed
	// (it is out of date) and counted in Stats.Rejected. NotFound entries
	// weigh 1. Default nil: every entry weighs 1.
	Weigher func(key K, value V) uint32

	// TTL is how long an entry lives after it is written (expire after
	// write), unless Set is given its own TTL. Default 0: entries never
	// expire and are only evicted for capacity.
	TTL time.Duration

	// ExpireAfter, if set, computes each entry's lifetime when it is
	// written (expire after create, or after update), in place of TTL: for
	// Set and for every value a load or refresh stores. It is called
	// outside every lock with the key, the value and the write (whether it
	// replaces a live entry, and that entry's remaining life, so that an
	// update may keep the old expiry). A result of 0 means the entry never
	// expires; a negative one, that it has expired already (a token past
	// its own expiry time is stored invisible, and removed). SetWithTTL's explicit TTL wins over it, TTLJitter shortens
	// its result, ExpireAfterAccess slides each entry by its own lifetime,
	// and NotFound results live NegativeTTL. Default nil: TTL for every
	// entry. Setting both TTL and ExpireAfter is an error.
	ExpireAfter func(key K, value V, w Write) time.Duration

	// ExpireAfterAccess makes the TTL sliding: every hit pushes the entry's
	// expiry to now + its TTL.
	ExpireAfterAccess bool

	// TTLJitter shortens each entry's TTL by a random fraction in
	// [0, TTLJitter), so that many keys written together do not all expire
	// (and reload) together. Must be in [0, 1). Default 0.
	TTLJitter float64

	// Admission turns on the TinyLFU admission filter: a count-min sketch
	// of recent access frequency (halved periodically, so it forgets) in
	// front of a segmented LRU, with a small LRU window that new entries
	// pass through first (1 % of the capacity at first, then adapted to the
	// workload: by the returns of the keys its decisions pushed out, by
	// hill climbing on the hit rate, and by a referee that simulates plain
	// LRU and a 1 % window on a sample of the keys and moves the window
	// towards whichever beat the cache, see the package documentation,
	// "Eviction"). A new entry then evicts an old one only when it has
	// been used more often recently, which protects the hot set from scans
	// and one-hit wonders. Default off: plain LRU.
	Admission bool

	// RefreshAhead, a fraction of the TTL in (0, 1), turns on refresh
	// ahead (stale-while-revalidate) for GetOrLoad: once an entry is older
	// than RefreshAhead × its TTL, GetOrLoad returns it at once and starts
	// one background load that replaces it. No caller waits for a refresh.
	// Default 0: off. Requires TTL; not available with ExpireAfterAccess.
	RefreshAhead float64

	// StaleIfError keeps expired entries for this long past their expiry.
	// When a GetOrLoad load fails and such a stale value exists, the stale
	// value is returned instead of the error (counted as StaleServed).
	// Stale entries are never returned by Get. Default 0: off.
	StaleIfError time.Duration

	// NotFound is the loader error that means "no such value" (for
	// example sql.ErrNoRows, or your own sentinel). A load whose error
	// matches it (errors.Is) is cached for NegativeTTL, so repeated
	// lookups of a missing row do not reach the database. Default nil: no
	// negative caching.
	NotFound error

	// NegativeTTL is how long a NotFound result is cached. Default: TTL/10
	// when TTL is set, otherwise 10 s.
	NegativeTTL time.Duration

	// LoadTimeout bounds every load (GetOrLoad, GetOrLoadMany, refresh).
	// A load runs under its own context derived from the first caller's
	// values but not its cancellation, so callers that give up do not
	// cancel it for the others. Default 10 s.
	LoadTimeout time.Duration

	// CleanupInterval is how often a background goroutine removes expired
	// entries (expired entries are already invisible to readers; the
	// sweep frees their memory and reports them to OnEvict). Default 5 s.
	// Negative disables the goroutine.
	CleanupInterval time.Duration

	// OnEvict, if set, is called for every entry that leaves the cache,
	// with the reason. It is never called while a lock is held, so it may
	// call back into the cache. It must be safe for concurrent use.
	// Negative (NotFound) entries are not reported.
	OnEvict func(key K, value V, reason EvictionReason)

	// Name is the value of the keel.cache.name metric attribute, to tell
	// several caches apart. Default "default".
	Name string

	// MeterProvider provides the instruments (see docs/METRICS.md). Nil
	// means the otel global provider.
	MeterProvider metric.MeterProvider

	// TracerProvider provides the tracer for load spans. Nil means the
	// otel global provider.
	TracerProvider trace.TracerProvider

	// Logger receives failed loads and refreshes at Warn level. Nil means
	// no logs (New sets one that discards, so no call site tests for nil).
	// Keys are never logged.
	Logger *slog.Logger
}

// withDefaults validates c and returns it with zero fields replaced by
// their defaults. Errors name the field.
func (c Config[K, V]) withDefaults() (Config[K, V], error) {
	if c.Capacity < 0 {
		return c, fmt.Errorf("cache: Config.Capacity must be >= 0, got %d", c.Capacity)
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.Shards < 0 {
		return c, fmt.Errorf("cache: Config.Shards must be >= 0, got %d", c.Shards)
	}
	if c.Shards > c.Capacity {
		return c, fmt.Errorf("cache: Config.Shards (%d) must not exceed Config.Capacity (%d)", c.Shards, c.Capacity)
	}
	if c.Shards == 0 {
		c.Shards = shardCount(c.Capacity, runtime.GOMAXPROCS(0))
	}
	if c.TTL < 0 {
		return c, fmt.Errorf("cache: Config.TTL must be >= 0, got %v", c.TTL)
	}
	if c.ExpireAfter != nil && c.TTL > 0 {
		return c, fmt.Errorf("cache: Config.TTL (%v) and Config.ExpireAfter are exclusive: ExpireAfter computes every entry's TTL", c.TTL)
	}
	expiring := c.TTL > 0 || c.ExpireAfter != nil
	if c.ExpireAfterAccess && !expiring {
		return c, fmt.Errorf("cache: Config.ExpireAfterAccess needs Config.TTL > 0 or Config.ExpireAfter")
	}
	if !(c.TTLJitter >= 0 && c.TTLJitter < 1) {
		return c, fmt.Errorf("cache: Config.TTLJitter must be in [0,1), got %g", c.TTLJitter)
	}
	if !(c.RefreshAhead >= 0 && c.RefreshAhead < 1) {
		return c, fmt.Errorf("cache: Config.RefreshAhead must be in [0,1), got %g", c.RefreshAhead)
	}
	if c.RefreshAhead > 0 && !expiring {
		return c, fmt.Errorf("cache: Config.RefreshAhead needs Config.TTL > 0 or Config.ExpireAfter")
	}
	if c.RefreshAhead > 0 && c.ExpireAfterAccess {
		// Sliding expiry keeps a hot entry for ever, so a refresh point
		// measured from the write is what would bound its staleness; the
		// cache does not keep the write time of a sliding entry.
		return c, fmt.Errorf("cache: Config.RefreshAhead cannot be combined with Config.ExpireAfterAccess")
	}
	if c.StaleIfError < 0 {
		return c, fmt.Errorf("cache: Config.StaleIfError must be >= 0, got %v", c.StaleIfError)
	}
	if c.NegativeTTL < 0 {
		return c, fmt.Errorf("cache: Config.NegativeTTL must be >= 0, got %v", c.NegativeTTL)
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = defaultNegativeTTLWithoutTTL
		if c.TTL > 0 {
			c.NegativeTTL = c.TTL / 10
		}
	}
	if c.LoadTimeout < 0 {
		return c, fmt.Errorf("cache: Config.LoadTimeout must be >= 0, got %v", c.LoadTimeout)
	}
	if c.LoadTimeout == 0 {
		c.LoadTimeout = DefaultLoadTimeout
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = DefaultCleanupInterval
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Write describes the write an ExpireAfter function is asked about.
type Write struct {
	// Update is true when the write replaces a live entry of the key.
	Update bool
	// Remaining is the replaced entry's remaining lifetime when Update is
	// true and that entry expires; 0 otherwise.
	Remaining time.Duration
}

// shardCount is the automatic number of shards: 4 per CPU for throughput,
// but never so many that a shard holds fewer than minShardCapacity entries.
func shardCount(capacity, cpus int) int {
	n := 4 * max(cpus, 1)
	n = min(n, capacity/minShardCapacity)
	return max(n, 1)
}
