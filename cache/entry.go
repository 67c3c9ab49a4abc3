package cache

// EvictionReason says why an entry left the cache (see Config.OnEvict).
type EvictionReason int

const (
	// Expired: the entry's TTL passed (and its StaleIfError grace, if any).
	Expired EvictionReason = iota + 1
	// Evicted: the entry made room for another (capacity or admission).
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

// item is what a shard stores for a key. Times are the cache's clock
// (Cache.now: monotonic nanoseconds since New, driven by testing/synctest).
type item[V any] struct {
	value V
	// missing is set for a negative entry: the loader's NotFound error,
	// returned to GetOrLoad callers until the entry expires. A pointer
	// rather than an error value keeps every positive entry 8 bytes smaller.
	missing *notFound
	// expires is when the entry stops being live; 0 means never.
	expires int64
	// born is when the value was written (refresh ahead is measured from
	// it), or last extended by sliding expiry; expires - born is the
	// entry's own (jittered) lifetime. Four words in all, so that
	// golang-lru's list element fits the 96-byte size class for 8-byte
	// keys and values.
	born int64
}

// slide extends a sliding entry by its lifetime from t.
func (it *item[V]) slide(t int64) {
	it.expires, it.born = t+(it.expires-it.born), t
}

// notFound holds a cached NotFound result.
type notFound struct{ err error }

// liveAt reports whether the entry is visible at now.
func (it *item[V]) liveAt(now int64) bool { return it.expires == 0 || now < it.expires }

// keepAt reports whether the entry should stay stored at now: while live,
// and, for a positive entry, for the StaleIfError grace after expiry.
func (it *item[V]) keepAt(now, staleGrace int64) bool {
	if it.liveAt(now) {
		return true
	}
	return it.missing == nil && staleGrace > 0 && now < it.expires+staleGrace
}

// eviction records an entry removed under a lock, reported after unlock.
type eviction[K comparable, V any] struct {
	key    K
	value  V
	reason EvictionReason
}
