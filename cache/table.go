package cache

import (
	"sync/atomic"
)

// index is a shard's key -> node hash table, for lookups that take no
// lock. Only the holder of the shard's lock writes it; readers load the
// current table and probe it with atomic loads, so a hit writes no shared
// memory. It is open-addressed with linear probing: a removed key leaves a
// tombstone (so that probes for other keys pass over it), and a full or
// tombstone-heavy table is rebuilt into a fresh array that is published
// whole, so a reader always probes a table no writer is moving keys in.
type index[K comparable, V any] struct {
	cur  atomic.Pointer[table[K, V]]
	tomb *node[K, V] // the tombstone: a node no key maps to
	seed keySeed[K]
	_    [64]byte // the counts below change on every write
	live int      // keys stored
	used int      // non-nil slots: keys and tombstones
}

// table is one array of the index. Beside each slot's node pointer it
// keeps a tag, 32 bits of the key's hash, so that a probe passes over
// other keys' slots without loading their nodes (a cache miss each): a
// lookup of an absent key probes several slots. Tag and pointer share
// the slot, so a probe reads one cache line per slot, not one in each of
// two arrays. The tag is written before the pointer, so a reader that
// loads a pointer sees its tag; a stale tag can only send a reader to
// compare a key that does not match.
type table[K comparable, V any] struct {
	slots []slot[K, V]
	mask  uint64
}

// slot is one entry of a table: 16 bytes, four to a cache line.
type slot[K comparable, V any] struct {
	node atomic.Pointer[node[K, V]]
	tag  atomic.Uint32
}

// tagOf is the part of the hash kept as a slot's tag: the high half (the
// slot index comes from the low bits).
func tagOf(h uint64) uint32 { return uint32(h >> 32) }

// minTableSize is the smallest table (a power of two).
const minTableSize = 16

func newTable[K comparable, V any](size int) *table[K, V] {
	n := minTableSize
	for n < size {
		n <<= 1
	}
	return &table[K, V]{slots: make([]slot[K, V], n), mask: uint64(n - 1)}
}

// init prepares a new index; it runs before any reader can see it.
func (x *index[K, V]) init(seed keySeed[K]) {
	x.seed = seed
	x.tomb = &node[K, V]{}
	x.clear()
}

// clear empties the index by publishing a fresh table. Lock held. Readers
// still probing the old one compare against the same tombstone, which is
// why the tombstone (and seed) never change after init.
func (x *index[K, V]) clear() {
	x.cur.Store(newTable[K, V](minTableSize))
	x.live, x.used = 0, 0
}

// get returns key's node, or nil. It takes no lock.
func (x *index[K, V]) get(key K, h uint64) *node[K, V] {
	_, n := x.find(x.cur.Load(), key, h)
	return n
}

// find probes t for key and returns its slot and node, or a nil node. The
// table always has an empty slot (see put), so the probe ends.
func (x *index[K, V]) find(t *table[K, V], key K, h uint64) (uint64, *node[K, V]) {
	tag := tagOf(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		n := t.slots[i].node.Load()
		if n == nil {
			return i, nil
		}
		if t.slots[i].tag.Load() == tag && n != x.tomb && n.key == key {
			return i, n
		}
	}
}

// put stores n under n.key and returns the node it replaced, or nil. Lock
// held.
func (x *index[K, V]) put(n *node[K, V], h uint64) *node[K, V] {
	t := x.cur.Load()
	tag := tagOf(h)
	free := -1
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		old := t.slots[i].node.Load()
		switch {
		case old == nil:
			if free < 0 {
				free = int(i)
				x.used++
			}
			t.slots[free].tag.Store(tag)
			t.slots[free].node.Store(n)
			x.live++
			// At most 3/4 of the slots in use keeps probes short and
			// one slot always empty.
			if x.used*4 > len(t.slots)*3 {
				x.rebuild(t)
			}
			return nil
		case old == x.tomb:
			if free < 0 {
				free = int(i) // reuse the first tombstone on the path
			}
		case t.slots[i].tag.Load() == tag && old.key == n.key:
			t.slots[i].node.Store(n)
			return old
		}
	}
}

// remove deletes key and returns its node, or nil if it was not stored.
// Lock held.
func (x *index[K, V]) remove(key K, h uint64) *node[K, V] {
	t := x.cur.Load()
	i, old := x.find(t, key, h)
	if old == nil {
		return nil
	}
	t.slots[i].node.Store(x.tomb)
	x.live--
	if len(t.slots) > minTableSize && x.live*8 < len(t.slots) {
		x.rebuild(t) // shrink after mass removal
	}
	return old
}

// rebuild copies the live keys into a new table sized for twice their
// number, dropping tombstones, and publishes it. Lock held.
func (x *index[K, V]) rebuild(old *table[K, V]) {
	t := newTable[K, V](2 * x.live)
	for i := range old.slots {
		n := old.slots[i].node.Load()
		if n == nil || n == x.tomb {
			continue
		}
		h := hashKey(x.seed, n.key)
		j := h & t.mask
		for t.slots[j].node.Load() != nil {
			j = (j + 1) & t.mask
		}
		t.slots[j].tag.Store(tagOf(h))
		t.slots[j].node.Store(n)
	}
	x.used = x.live
	x.cur.Store(t)
}

// nodes returns the stored nodes, in no particular order. Lock held.
func (x *index[K, V]) nodes() []*node[K, V] {
	t := x.cur.Load()
	out := make([]*node[K, V], 0, x.live)
	for i := range t.slots {
		if n := t.slots[i].node.Load(); n != nil && n != x.tomb {
			out = append(out, n)
		}
	}
	return out
}
