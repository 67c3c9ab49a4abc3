package ratelimit

import (
	"strings"
	"sync"
)

// keyedShard is one independently locked part of a Keyed limiter: a bounded
// number of slots, each holding one key's bucket state inline, and an
// open-addressed index from key hash to slot. The index reuses the hash that
// chose the shard, so a call hashes its key once (a Go map would hash it
// again).
//
// Recency is kept with the CLOCK scheme instead of an LRU list: a hit only
// sets the slot's referenced bit (no list to relink, no pointer chasing),
// and when the shard is full a hand sweeps the slots, clearing referenced
// bits, and takes the first slot that is idle or was not referenced since
// the hand last passed. That approximates LRU (a key used since the last
// sweep is never the one forgotten) at a fraction of its cost on the hit
// path.
type keyedShard struct {
	mu sync.Mutex
	// index holds slot numbers + 1 (0 is an empty cell), placed by linear
	// probing from the key hash's upper bits; at most half full.
	index []int32
	slots []keyedSlot
	// extra holds the debts of windows after the first, len(windows)-1 per
	// slot, so that a single-window limiter's slot stays small.
	extra []int64
	free  []int32 // slots emptied by idle expiry, reused first
	hand  int32
	size  int32 // slots the shard may hold
	keys  int32 // keys indexed
	// Counters live here, under the shard's lock, so that the hot path
	// touches no shared cache line.
	allowed int64
	limited int64
	evicted int64
	_       [64]byte // keeps neighbouring shards' locks off one cache line
}

type keyedSlot struct {
	key  string
	hash uint64
	// last is when (ns on the limiter's monotonic clock) the debts were
	// last brought up to date.
	last int64
	// idleFrom is when the key's idle time starts: its last call, or when a
	// unit it reserved with Wait is due.
	idleFrom int64
	// debt is the first window's debt (see window).
	debt int64
	// gen changes whenever the slot is given to another key, so that a
	// cancelled Wait never hands a unit back to a stranger.
	gen uint32
	// used is false for a slot on the free list.
	used bool
	// referenced is CLOCK's bit: set on every use, cleared by the hand.
	referenced bool
}

func (s *keyedShard) init(size, windows int) {
	s.size = int32(size)
	s.index = make([]int32, minIndexCells)
	if windows > 1 {
		// Allocated as slots are, so an empty limiter holds no more than its
		// maps and slices' headers.
		s.extra = make([]int64, 0)
	}
}

// minIndexCells is the size an index starts at; it doubles as keys arrive.
const minIndexCells = 16

// cell is where key hash h starts probing. The low bits chose the shard;
// the upper ones spread keys within it.
func (s *keyedShard) cell(h uint64) int {
	return int((h >> 32) & uint64(len(s.index)-1))
}

// lookup returns the slot of key (whose hash is h), or -1. The caller holds
// s.mu.
func (s *keyedShard) lookup(key string, h uint64) int32 {
	mask := len(s.index) - 1
	for c := s.cell(h); ; c = (c + 1) & mask {
		v := s.index[c]
		if v == 0 {
			return -1
		}
		if sl := &s.slots[v-1]; sl.hash == h && sl.key == key {
			return v - 1
		}
	}
}

// addIndex records slot i (holding a key not yet indexed), growing the
// index to keep it at most half full.
func (s *keyedShard) addIndex(i int32) {
	if 2*(s.tracked()+1) > len(s.index) {
		s.index = make([]int32, 2*len(s.index))
		s.keys = 0
		for j := range s.slots {
			if s.slots[j].used && int32(j) != i {
				s.place(int32(j))
			}
		}
	}
	s.place(i)
}

func (s *keyedShard) place(i int32) {
	mask := len(s.index) - 1
	c := s.cell(s.slots[i].hash)
	for s.index[c] != 0 {
		c = (c + 1) & mask
	}
	s.index[c] = i + 1
	s.keys++
}

// removeIndex forgets slot i, shifting back the cells that probed past it
// so that every lookup still finds its key (deletion without tombstones).
func (s *keyedShard) removeIndex(i int32) {
	mask := len(s.index) - 1
	hole := s.cell(s.slots[i].hash)
	for s.index[hole] != i+1 {
		hole = (hole + 1) & mask
	}
	for c := (hole + 1) & mask; s.index[c] != 0; c = (c + 1) & mask {
		home := s.cell(s.slots[s.index[c]-1].hash)
		// The entry at c may move to the hole unless its home lies
		// cyclically in (hole, c].
		if (c-home)&mask >= (c-hole)&mask {
			s.index[hole] = s.index[c]
			hole = c
		}
	}
	s.index[hole] = 0
	s.keys--
}

// insert gives key a slot with a full bucket and returns it. Before that it
// reclaims up to maxEvictionsPerInsert idle keys ahead of the hand, so that
// the memory held for keys nobody uses is given back as new keys arrive,
// without a background goroutine. When every slot is in use, the CLOCK hand
// picks the victim: an idle key if it meets one (not counted), otherwise the
// first key not referenced since the hand last passed (counted in evicted,
// since it was still active). The caller holds s.mu.
func (s *keyedShard) insert(k *Keyed, key string, h uint64, now int64) int32 {
	n := int32(len(s.slots))
	for range min(maxEvictionsPerInsert, n) {
		sl := &s.slots[s.hand]
		if sl.used && k.idle(s, s.hand, now) {
			s.release(s.hand)
		}
		s.advance()
	}
	var i int32
	switch {
	case len(s.free) > 0:
		i = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
	case n < s.size:
		i = n
		s.slots = append(s.slots, keyedSlot{})
		if s.extra != nil {
			s.extra = append(s.extra, make([]int64, len(k.windows)-1)...)
		}
	default:
		i = s.victim(k, now)
	}
	sl := &s.slots[i]
	// The map keeps its own copy of key, so a key sliced from a large buffer
	// (a header, a request body) does not pin that buffer.
	key = strings.Clone(key)
	*sl = keyedSlot{key: key, hash: h, last: now, idleFrom: now, gen: sl.gen + 1, used: true, referenced: true}
	clear(s.extraOf(k, i))
	s.addIndex(i)
	return i
}

// victim frees and returns the slot the CLOCK hand settles on. Every slot is
// in use. Two sweeps always suffice: the first clears every referenced bit.
func (s *keyedShard) victim(k *Keyed, now int64) int32 {
	for {
		i := s.hand
		sl := &s.slots[i]
		s.advance()
		switch {
		case k.idle(s, i, now):
		case sl.referenced:
			sl.referenced = false
			continue
		default:
			s.evicted++
		}
		s.removeIndex(i)
		sl.used = false
		return i
	}
}

func (s *keyedShard) advance() {
	s.hand++
	if s.hand == int32(len(s.slots)) {
		s.hand = 0
	}
}

// release forgets slot i's key and puts the slot on the free list.
func (s *keyedShard) release(i int32) {
	s.removeIndex(i)
	sl := &s.slots[i]
	*sl = keyedSlot{gen: sl.gen}
	s.free = append(s.free, i)
}

// extraOf returns the debts of slot i's windows after the first.
func (s *keyedShard) extraOf(k *Keyed, i int32) []int64 {
	if s.extra == nil {
		return nil
	}
	per := int32(len(k.windows) - 1)
	return s.extra[i*per : (i+1)*per : (i+1)*per]
}

// tracked returns how many keys the shard holds. The caller holds s.mu.
func (s *keyedShard) tracked() int { return int(s.keys) }
