package cache

import (
	"hash/maphash"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// segment is one golang-lru list. Segments are created with room for the
// whole shard so that golang-lru never evicts on its own: the shard decides
// what leaves, so that it can report the reason outside the lock.
type segment[K comparable, V any] = simplelru.LRU[K, item[V]]

// shard is an independently locked part of the cache. Without admission it
// is one LRU (window). With admission it is W-TinyLFU: new entries enter a
// small LRU window; the window's oldest entry then competes with the oldest
// entry of the main area (a segmented LRU of probation and protected) and
// the one the sketch says was used more often recently stays.
type shard[K comparable, V any] struct {
	mu sync.Mutex

	seed      maphash.Seed
	capacity  int
	window    *segment[K, V]
	probation *segment[K, V] // nil without admission
	protected *segment[K, V] // nil without admission
	windowCap int
	mainCap   int
	protCap   int
	sketch    *sketch // nil without admission
	climb     climber

	// flights are the loads in progress for keys of this shard.
	flights map[K]*flight[V]

	hits, misses               uint64
	evicted, expired, deletedN uint64
	_                          [64]byte // keep shards' hot fields on separate cache lines
}

func newShard[K comparable, V any](seed maphash.Seed, capacity int, admission bool) *shard[K, V] {
	s := &shard[K, V]{seed: seed, capacity: capacity, flights: map[K]*flight[V]{}}
	s.window = mustSegment[K, V](capacity)
	s.windowCap = capacity
	if admission {
		s.windowCap = max(1, capacity/100)
		s.mainCap = capacity - s.windowCap
		s.protCap = s.mainCap * 8 / 10
		s.probation = mustSegment[K, V](capacity)
		s.protected = mustSegment[K, V](capacity)
		s.sketch = newSketch(capacity)
		s.climb = newClimber(capacity)
	}
	return s
}

// mustSegment creates a golang-lru list; size is always >= 1 here, the only
// condition under which simplelru fails.
func mustSegment[K comparable, V any](size int) *segment[K, V] {
	l, err := simplelru.NewLRU[K, item[V]](size, nil)
	if err != nil {
		panic("cache: internal error: " + err.Error())
	}
	return l
}

// access looks key up as a read does: it counts the access in the sketch
// and promotes the entry. It returns the segment that now holds the entry.
func (s *shard[K, V]) access(key K, h uint64) (item[V], *segment[K, V], bool) {
	if s.sketch == nil {
		it, ok := s.window.Get(key)
		return it, s.window, ok
	}
	it, seg, ok := s.accessTinyLFU(key)
	if ok {
		// As in Caffeine, the sketch counts hits and insertions, not
		// misses: a miss followed by its insertion counts once.
		s.sketch.increment(h)
	}
	if delta := s.climb.record(ok, s.capacity); delta != 0 {
		s.adapt(delta)
		if ok {
			_, seg, _ = s.peek(key) // adapt may have moved it
		}
	}
	return it, seg, ok
}

// accessTinyLFU finds and promotes key in the W-TinyLFU lists.
func (s *shard[K, V]) accessTinyLFU(key K) (item[V], *segment[K, V], bool) {
	if it, ok := s.protected.Get(key); ok {
		return it, s.protected, true
	}
	if it, ok := s.window.Get(key); ok {
		return it, s.window, true
	}
	if it, ok := s.probation.Peek(key); ok {
		// A second access in the main area: promote to protected, demoting
		// protected's oldest to probation if protected is full.
		s.probation.Remove(key)
		s.protected.Add(key, it)
		if s.protected.Len() > s.protCap {
			if k, v, ok := s.protected.RemoveOldest(); ok {
				s.probation.Add(k, v)
			}
		}
		return it, s.protected, true
	}
	var zero item[V]
	return zero, nil, false
}

// peek finds key without counting an access or changing any order.
func (s *shard[K, V]) peek(key K) (item[V], *segment[K, V], bool) {
	if it, ok := s.window.Peek(key); ok {
		return it, s.window, true
	}
	if s.sketch != nil {
		if it, ok := s.protected.Peek(key); ok {
			return it, s.protected, true
		}
		if it, ok := s.probation.Peek(key); ok {
			return it, s.probation, true
		}
	}
	var zero item[V]
	return zero, nil, false
}

// remove deletes key and returns what it held.
func (s *shard[K, V]) remove(key K) (item[V], bool) {
	it, seg, ok := s.peek(key)
	if ok {
		seg.Remove(key)
	}
	return it, ok
}

// len is the number of stored entries, expired ones not yet removed included.
func (s *shard[K, V]) len() int {
	n := s.window.Len()
	if s.sketch != nil {
		n += s.probation.Len() + s.protected.Len()
	}
	return n
}

// segments lists the shard's lists, for sweeps.
func (s *shard[K, V]) segments() []*segment[K, V] {
	if s.sketch == nil {
		return []*segment[K, V]{s.window}
	}
	return []*segment[K, V]{s.window, s.probation, s.protected}
}

// put stores key. An existing entry is updated in place (and becomes the
// most recent of its segment); a new one may push one entry out, which is
// returned for reporting after unlock.
func (s *shard[K, V]) put(key K, h uint64, it item[V], now int64) (eviction[K, V], bool) {
	if _, seg, ok := s.peek(key); ok {
		seg.Add(key, it)
		return eviction[K, V]{}, false
	}
	if s.sketch == nil {
		var ev eviction[K, V]
		evicted := false
		if s.window.Len() >= s.windowCap {
			k, old, _ := s.window.RemoveOldest()
			ev, evicted = s.outgoing(k, old, now)
		}
		s.window.Add(key, it)
		return ev, evicted
	}
	s.sketch.increment(h)
	s.window.Add(key, it)
	if s.window.Len() <= s.windowCap {
		return eviction[K, V]{}, false
	}
	ck, cand, _ := s.window.RemoveOldest()
	return s.admit(ck, cand, now)
}

// admit moves a candidate leaving the window into the main area, or rejects
// it, by the TinyLFU rule: when the main area is full, the candidate
// replaces main's oldest entry (the victim) only if the sketch estimates
// that it was accessed more often recently. Expired entries lose at once.
func (s *shard[K, V]) admit(ck K, cand item[V], now int64) (eviction[K, V], bool) {
	if s.probation.Len()+s.protected.Len() < s.mainCap {
		s.probation.Add(ck, cand)
		return eviction[K, V]{}, false
	}
	if s.mainCap == 0 || !cand.liveAt(now) {
		return s.outgoing(ck, cand, now)
	}
	from := s.probation
	vk, victim, ok := from.GetOldest()
	if !ok {
		from = s.protected
		vk, victim, _ = from.GetOldest()
	}
	if victim.liveAt(now) && !s.admits(ck, vk) {
		return s.outgoing(ck, cand, now)
	}
	from.Remove(vk)
	s.probation.Add(ck, cand)
	return s.outgoing(vk, victim, now)
}

// admits reports whether the candidate should replace the victim: only if
// it was used more often recently (ties keep the victim, which makes
// looping scans hit instead of churning). Caffeine also admits a warm
// candidate at random now and then, against attackers who raise a victim's
// count with colliding keys; here the sketch's hash has a secret random
// seed per cache (hash/maphash), so collisions cannot be aimed, and that
// randomness, which costs up to 8 points of hit ratio on looping traces,
// is left out.
func (s *shard[K, V]) admits(candidate, victim K) bool {
	return s.sketch.frequency(hashKey(s.seed, candidate)) > s.sketch.frequency(hashKey(s.seed, victim))
}

// outgoing counts an entry pushed out for room and says whether to report
// it: an entry already past its expiry is reported as expired.
func (s *shard[K, V]) outgoing(k K, it item[V], now int64) (eviction[K, V], bool) {
	reason := Evicted
	if !it.liveAt(now) {
		reason = Expired
		s.expired++
	} else {
		s.evicted++
	}
	if it.missing != nil {
		return eviction[K, V]{}, false
	}
	return eviction[K, V]{key: k, value: it.value, reason: reason}, true
}
