package cache

import (
	"runtime"
	"sync/atomic"
	_ "unsafe" // go:linkname
)

// A hit must move its entry to the front of its LRU list, which needs the
// shard's lock. Instead of taking it, a hit records its node in a read
// buffer, and the records are replayed into the list under the lock later,
// in order (Caffeine's design). The buffer is striped, a stripe per P (the
// scheduler's processor a goroutine runs on, see recordHere), so that
// goroutines running at the same time write different cache lines; a
// reader replays its stripe when it is full, if the lock is free, and
// while one goroutine uses the shard a write first replays the records
// made before it (shard.drainBeforeWrite).
// The buffer is lossy: a record finding its stripe full is dropped (it is
// still counted for Stats); while several goroutines use a shard, hits on
// entries near the front are not recorded, in a cache of sampleMinEntries
// entries or more a stripe records about one lookup in sampleEvery,
// chosen pseudo-randomly (see sampledOut), and a write replays only its
// own P's stripe (shard.drainBeforeWrite); and otherwise,
// without admission, a hit on the node its stripe recorded last, not yet
// replayed, is counted but not recorded again (replaying it twice in a
// row would move it to the front twice). The repeat skip is off while
// sampling: a key read alone would otherwise be recorded once and its
// stripe never fill, so it would never be promoted again.
const (
	stripeSlots = 16 // records per stripe (a power of two)
	maxStripes  = 64 // bits in dirtyMask
	sampleEvery = 8  // under concurrency a large shard's stripe records about one lookup in sampleEvery (a power of two)
	cacheLine   = 64 // bytes; padding keeps writers apart
)

// stripe is one ring of records. Its owner writes tail, skipped, misses
// and slots; a replay (under the shard's lock) writes head. Positions
// [head, tail) were recorded since the last replay; those from
// head+stripeSlots on were dropped, not written. Every hit, and with
// admission every lock-free miss, adds one to tail (offered as a record)
// or to skipped (counted only), so tail+skipped counts them for Stats.
type stripe[K comparable, V any] struct {
	tail    atomic.Uint64 // records offered, dropped ones included
	skipped atomic.Uint64 // lookups counted but not offered (sampled out, or a repeat)
	misses  atomic.Uint64 // lock-free lookups by this stripe's readers that missed
	_       [cacheLine - 24]byte
	head    atomic.Uint64
	_       [cacheLine - 8]byte
	slots   [stripeSlots]atomic.Pointer[node[K, V]]
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
	n := 16 // a stripe per P, and room for GOMAXPROCS to grow
	for n < 4*runtime.GOMAXPROCS(0) && n < maxStripes {
		n <<= 1
	}
	return readBuffer[K, V]{stripes: make([]stripe[K, V], n), mask: uint64(n - 1), dirty: new(dirtyMask)}
}

// procPin and procUnpin are the runtime's: procPin keeps the calling
// goroutine on its P (no preemption) until procUnpin and returns the P's
// id. sync.Pool keeps its per-P caches with them; the runtime exports them
// by go:linkname for packages outside the standard library (go.dev/issue/67401).
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// here returns the stripe of the P the caller runs on.
func (b *readBuffer[K, V]) here() uint64 {
	i := uint64(procPin()) & b.mask
	procUnpin()
	return i
}

// recordHere records a hit on n in the stripe of the P the caller runs
// on, kept on that P meanwhile, so that goroutines running at the same
// time never write the same stripe (unless GOMAXPROCS exceeds the
// stripes and Ps share them: the writes are atomic, so sharing costs only
// contention). With lossy (the shard is used concurrently) a hit on an
// entry near the front of its list is not recorded (see shard.hit), and
// with sample too only about one lookup in sampleEvery of the stripe is;
// otherwise, with
// dedupe (no admission, so that a second replay of the same node changes
// nothing), a hit on the node the stripe recorded last, not yet replayed,
// is not recorded again. Either way the hit is counted. It returns the stripe
// and whether it is full (due a replay, which the caller does unpinned:
// replays take the lock).
func (b *readBuffer[K, V]) recordHere(n *node[K, V], lossy, sample, dedupe bool, front *frontTicks) (uint64, bool) {
	i := uint64(procPin()) & b.mask
	st := &b.stripes[i]
	if lossy && (sample && b.sampledOut(st) || front.nearFront(n.stamp.Load())) {
		st.skipped.Add(1)
		procUnpin()
		return i, false
	}
	if dedupe && !lossy {
		h := st.head.Load() // before tail: the head never passes the tail
		t := st.tail.Load()
		if d := t - h; d > 0 && d <= stripeSlots && st.slots[(t-1)&(stripeSlots-1)].Load() == n {
			st.skipped.Add(1)
			procUnpin()
			return i, false
		}
	}
	full := b.record(i, n)
	procUnpin()
	return i, full
}

// sampledOut reports whether the stripe's next lookup goes unrecorded
// under sampling. It decides by a bijective mix of the stripe's lookup
// count (multiply by an odd constant, xor-shift, multiply again) and
// records the lookup if the top bits are zero: about one lookup in
// sampleEvery, at positions that look random, so that no periodic
// pattern of lookups (a key read every other lookup, say) falls always
// outside the sample, as it did with a fixed one-in-sampleEvery counter.
// It costs no write and no allocation, and is deterministic (tests can
// replay it). Only the stripe's owner calls it.
func (b *readBuffer[K, V]) sampledOut(st *stripe[K, V]) bool {
	return sampleMix(st.tail.Load()+st.skipped.Load()) >= 1<<64/sampleEvery
}

// sampleMix is a bijection of uint64 whose outputs for consecutive
// inputs look random (murmur3's finalizer, one round shorter).
func sampleMix(x uint64) uint64 {
	x *= 0x9e3779b97f4a7c15
	x ^= x >> 32
	x *= 0xff51afd7ed558ccd
	x ^= x >> 29
	return x
}

// missHere counts a lock-free miss in the stripe of the caller's P and, if
// mark is not nil (admission: the hill climber counts misses in order
// with the hits), records it, sampled as a hit is; as recordHere.
func (b *readBuffer[K, V]) missHere(mark *node[K, V], sample bool) (uint64, bool) {
	i := uint64(procPin()) & b.mask
	st := &b.stripes[i]
	st.misses.Add(1)
	full := false
	if mark != nil {
		if sample && b.sampledOut(st) {
			st.skipped.Add(1)
		} else {
			full = b.record(i, mark)
		}
	}
	procUnpin()
	return i, full
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

// counts sums the stripes' lock-free hits and misses, for Stats. A stripe
// counts a lookup in tail or skipped (hits, and with admission the
// lock-free misses too, which are recorded for the hill climber) and a miss
// in misses, the miss first. Reading tail and skipped before misses, a miss
// seen in the first is always seen in the second; a miss between the two
// reads is seen in misses only, so with admission the stripe's hits are
// records - misses, floored at 0 (unsigned, the difference would wrap to
// about 2^64 for that moment).
func (b *readBuffer[K, V]) counts(admission bool) (hits, misses uint64) {
	for i := range b.stripes {
		records := b.stripes[i].tail.Load() + b.stripes[i].skipped.Load()
		m := b.stripes[i].misses.Load()
		if admission {
			records -= min(records, m)
		}
		hits += records
		misses += m
	}
	return hits, misses
}
