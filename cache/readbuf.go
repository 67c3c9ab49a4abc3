package cache

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A hit must move its entry to the front of golang-lru's list, which needs
// the shard's lock. Instead of taking it, a hit records its node in a read
// buffer, and the records are replayed into the list under the lock later,
// in order (Caffeine's design). The buffer is striped, a stripe per
// goroutine (by stack address, see mine), so that goroutines on different
// CPUs write different cache lines; a reader replays its own stripe when it
// is full, if the lock is free, and while one goroutine uses the shard a
// write first replays the records made before it (shard.drainBeforeWrite).
// The buffer is lossy: a record finding its stripe full is dropped (it is
// still counted for Stats), and while several goroutines use a shard a
// replay applies only the newest records and writes replay none
// (shard.concurrent, shard.drainStripe).
const (
	stripeSlots = 16 // records per stripe (a power of two)
	maxStripes  = 64 // bits in dirtyMask
	lossyReplay = 2  // records a replay applies per stripe under concurrency
	cacheLine   = 64 // bytes; padding keeps writers apart
)

// stripe is one ring of records. Its owner writes tail, misses and slots;
// a replay (under the shard's lock) writes head. Positions [head, tail)
// were recorded since the last replay; those from head+stripeSlots on
// were dropped, not written.
type stripe[K comparable, V any] struct {
	tail   atomic.Uint64 // records offered, dropped ones included: also the hit count
	misses atomic.Uint64 // lock-free lookups by this stripe's readers that missed
	_      [cacheLine - 16]byte
	head   atomic.Uint64
	_      [cacheLine - 8]byte
	slots  [stripeSlots]atomic.Pointer[node[K, V]]
}

// readBuffer is a shard's striped read buffer.
type readBuffer[K comparable, V any] struct {
	stripes []stripe[K, V]
	mask    uint64
	// dirty has bit i set while stripe i may hold records not replayed.
	// It is written when a stripe goes from empty to non-empty and after
	// a replay, not per record, and sits on its own cache line.
	dirty *dirtyMask
}

type dirtyMask struct {
	_    [cacheLine]byte
	bits atomic.Uint64
	_    [cacheLine - 8]byte
}

func newReadBuffer[K comparable, V any]() readBuffer[K, V] {
	n := 16 // two goroutines share a stripe with probability 1/n
	for n < 4*runtime.GOMAXPROCS(0) && n < maxStripes {
		n <<= 1
	}
	return readBuffer[K, V]{stripes: make([]stripe[K, V], n), mask: uint64(n - 1), dirty: new(dirtyMask)}
}

// mine returns the calling goroutine's stripe. Goroutine stacks lie at
// distinct addresses (at least 2 KiB apart: the smallest stack), so the
// address of a local variable, hashed, spreads goroutines over the
// stripes and keeps each on the same one for a given call site while its
// stack stays put, without runtime internals. Call sites at different
// stack depths may get different stripes: a write after reads from one
// call site (the reads in a stripe, the write elsewhere) is still replayed
// in order, but reads from two call sites that both await a replay look
// like two goroutines; seen twice, that turns the shard lossy
// (shard.concurrent).
func (b *readBuffer[K, V]) mine() uint64 {
	var marker byte
	a := uint64(uintptr(unsafe.Pointer(&marker))) >> 11
	return (a * 0x9e3779b97f4a7c15) >> 58 & b.mask
}

// record offers n to stripe i and reports whether the stripe is full (due
// a replay). A full stripe drops the record.
func (b *readBuffer[K, V]) record(i uint64, n *node[K, V]) bool {
	st := &b.stripes[i]
	t := st.tail.Add(1) - 1 // this record's position
	h := st.head.Load()
	if t-h >= stripeSlots {
		return true
	}
	st.slots[t&(stripeSlots-1)].Store(n)
	if t == h {
		b.dirty.bits.Or(1 << i) // first record since the last replay
	}
	return t-h == stripeSlots-1
}

// counts sums the stripes' records and misses, for Stats.
func (b *readBuffer[K, V]) counts() (records, misses uint64) {
	for i := range b.stripes {
		records += b.stripes[i].tail.Load()
		misses += b.stripes[i].misses.Load()
	}
	return records, misses
}
