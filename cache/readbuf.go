package cache

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A hit must move its entry to the front of golang-lru's list, which needs
// the shard's lock. Instead of taking it, a hit records its node in a read
// buffer, and whoever holds the lock next replays the buffer into the list
// in order (Caffeine's design). The buffer is striped so that goroutines
// on different CPUs write different cache lines, and lossy: when readers
// outpace the replays, the oldest records are overwritten, which only
// makes the eviction order slightly less exact under contention. A single
// goroutine's accesses are replayed exactly in order, so the eviction
// order (and the hit ratio) of a cache used by one goroutine is exactly
// that of one golang-lru list.
const (
	stripeSlots = 16 // records per stripe (a power of two)
	// drainAfter: a reader replays the buffer (if the lock is free) once
	// its stripe holds this many records, half the stripe, so that a
	// busy lock holder leaves room before records are overwritten.
	drainAfter = stripeSlots / 2
	maxStripes = 64 // bits in dirtyMask
	// lossyReplay is how many of a stripe's newest records a replay
	// applies while several goroutines read the shard (see drainReads).
	lossyReplay = 2
)

// stripe is one ring of records. tail counts every record ever written
// (it doubles as a counter for Stats); head is how far replays got.
type stripe[K comparable, V any] struct {
	tail   atomic.Uint64
	misses atomic.Uint64 // lookups of this stripe's readers that missed
	head   atomic.Uint64 // written under the shard's lock
	_      [64 - 24]byte
	slots  [stripeSlots]atomic.Pointer[node[K, V]]
}

// readBuffer is a shard's striped read buffer.
type readBuffer[K comparable, V any] struct {
	stripes []stripe[K, V]
	mask    uint64
	// dirty has bit i set when stripe i got a record since its last
	// replay. It is written once per replay cycle of a stripe, not per
	// record, and lives on its own cache line (see shard).
	dirty *dirtyMask
}

type dirtyMask struct {
	_    [64]byte
	bits atomic.Uint64
	_    [56]byte
}

func newReadBuffer[K comparable, V any]() readBuffer[K, V] {
	n := 4
	for n < 2*runtime.GOMAXPROCS(0) && n < maxStripes {
		n <<= 1
	}
	return readBuffer[K, V]{stripes: make([]stripe[K, V], n), mask: uint64(n - 1), dirty: new(dirtyMask)}
}

// mine returns the calling goroutine's stripe. Goroutine stacks lie at
// distinct addresses (at least 2 KiB apart: the smallest stack), so the
// address of a local variable, hashed, spreads goroutines over the
// stripes and keeps each on the same one for a given call site while its
// stack stays put, without runtime internals. Call sites at different
// depths may get different stripes; drainAll keeps even that exact for a
// single goroutine.
func (b *readBuffer[K, V]) mine() uint64 {
	var marker byte
	a := uint64(uintptr(unsafe.Pointer(&marker))) >> 11
	return (a * 0x9e3779b97f4a7c15) >> 58 & b.mask
}

// record appends n to stripe i and reports whether the stripe is due a
// replay.
func (b *readBuffer[K, V]) record(i uint64, n *node[K, V]) bool {
	st := &b.stripes[i]
	t := st.tail.Add(1)
	st.slots[(t-1)&(stripeSlots-1)].Store(n)
	h := st.head.Load()
	if t-1 == h {
		b.dirty.bits.Or(1 << i) // first record since the last replay
	}
	return t-h >= drainAfter
}

// counts sums the stripes' records and misses, for Stats.
func (b *readBuffer[K, V]) counts() (records, misses uint64) {
	for i := range b.stripes {
		records += b.stripes[i].tail.Load()
		misses += b.stripes[i].misses.Load()
	}
	return records, misses
}
