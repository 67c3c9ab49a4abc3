package cache

import "sync/atomic"

// EvictionReason says why an entry left the cache (see Config.OnEvict).
type EvictionReason int

const (
	// Expired: the entry's TTL passed (and its StaleIfError grace, if any).
	Expired EvictionReason = iota + 1
	// Evicted: the entry made room for another (capacity or admission), or
	// its key was written with a value too heavy to store (ErrTooHeavy),
	// which replaces no entry and removes the out-of-date one.
	Evicted
	// Deleted: removed by Delete or Purge.
	Deleted
)

// String returns "expired", "evicted" or "deleted".
func (r EvictionReason) String() string {
	switch r {
	case Expired:
		return "expired"
	case Evicted:
		return "evicted"
	case Deleted:
		return "deleted"
	default:
		return "unknown"
	}
}

// node is one stored entry. A lookup that finds it reads it without a
// lock, so its key and missing never change once published; its value
// and expiry change only by atomic stores (a word-sized value written in
// place, see inplace.go; ExpireAfterAccess), and a Set of any other value
// stores a new node. Its list links change under the shard's lock only. Times are the
// cache's clock (see clock).
type node[K comparable, V any] struct {
	key   K
	value V
	// expires is when the entry stops being live (0: never): the write
	// time plus life, or with ExpireAfterAccess the last access plus life.
	// A lookup reads key, value, expires and missing: they come first, so
	// that for word-sized keys and values they share the node's first 32
	// bytes, which straddle two cache lines less often than a longer run.
	expires atomic.Int64
	// missing is set for a negative entry: the loader's NotFound error,
	// returned to GetOrLoad callers until the entry expires. A pointer
	// rather than an error value keeps every positive entry 8 bytes smaller.
	missing *notFound
	// life is the entry's own (jittered) lifetime; 0 means it never expires
	// (or, with expires set, that it expired when written: ExpireAfter).
	life int64
	// weight is the entry's share of the shard's capacity: 1 without a
	// Config.Weigher, otherwise the Weigher's answer (at least 1).
	weight uint32
	// stamp is the shard's ticks when the entry last went to the front of
	// a list (see shard.ticks). Only the lock holder writes it; readers
	// in the concurrent mode load it to leave entries near the front
	// unrecorded (see shard.hit).
	stamp atomic.Uint64
	// prev, next and seg link the node into its shard's lists (segment);
	// only the lock holder reads or writes them. seg is nil once the node
	// has left the shard (removed, evicted, or replaced by a Set), so a
	// read-buffer record of it is recognised as stale.
	prev, next *node[K, V]
	seg        *segment[K, V]
}

// born is when the value was written (refresh ahead is measured from it).
// Meaningful without ExpireAfterAccess only, which RefreshAhead requires.
func (n *node[K, V]) born() int64 { return n.expires.Load() - n.life }

// slide extends a sliding entry's life from t. Concurrent hits may race;
// each stores a reading of the clock, so the expiry only moves forward by
// a few nanoseconds more or less.
func (n *node[K, V]) slide(t int64) {
	if e := t + n.life; e > n.expires.Load() {
		n.expires.Store(e)
	}
}

// notFound holds a cached NotFound result.
type notFound struct{ err error }

// liveAt reports whether the entry is visible at now.
func (n *node[K, V]) liveAt(now int64) bool {
	e := n.expires.Load()
	return e == 0 || now < e
}

// keepAt reports whether the entry should stay stored at now: while live,
// and, for a positive entry, for the StaleIfError grace after expiry.
func (n *node[K, V]) keepAt(now, staleGrace int64) bool {
	if n.liveAt(now) {
		return true
	}
	return n.missing == nil && staleGrace > 0 && now < n.expires.Load()+staleGrace
}

// eviction records an entry removed under a lock, reported after unlock.
type eviction[K comparable, V any] struct {
	key    K
	value  V
	reason EvictionReason
}

// evictions collects the entries one write pushed out, for reporting
// after unlock. Without a Weigher a write pushes out at most one entry,
// which is kept inline so that the write allocates nothing for it; a
// heavy entry may push out several, which go to more.
type evictions[K comparable, V any] struct {
	first eviction[K, V]
	more  []eviction[K, V]
	n     int
}

// add records ev if report says it is to be reported.
func (e *evictions[K, V]) add(ev eviction[K, V], report bool) {
	if !report {
		return
	}
	if e.n == 0 {
		e.first = ev
	} else {
		e.more = append(e.more, ev)
	}
	e.n++
}
