package cache

import (
	bits64 "math/bits"
	"sync"
	"sync/atomic"
)

// shard is an independently locked part of the cache. Without admission it
// is one LRU (window). With admission it is W-TinyLFU: new entries enter a
// small LRU window; the window's oldest entry then competes with the oldest
// entry of the main area (a segmented LRU of probation and protected) and
// the one the sketch says was used more often recently stays.
//
// Lookups take no lock: they find the node in index and record the access
// in reads; the lock holder replays the records into the lists (see
// readbuf.go). The lists and index change only under mu.
type shard[K comparable, V any] struct {
	// Read by every lookup and (apart from index's table pointer, swapped
	// on a rebuild) never written after newShard, so they stay in every
	// CPU's cache; index's padding keeps its counts, mu and the fields
	// below, which writers change, off their cache line.
	reads     readBuffer[K, V]
	admission bool
	// sampling mirrors concurrent's answer for lock-free readers: while it
	// is set, readers leave entries near the front unrecorded and, once
	// the shard holds its share of sampleMinEntries (front.samples), stripes
	// record one lookup in sampleEvery. It is stored only when the answer
	// changes, which is rare.
	sampling atomic.Bool
	missMark *node[K, V] // recorded for a miss, with admission (hill climbing counts misses)
	// front is what lock-free readers know of the shard's ticks and size
	// (see hit), on a line of its own: the lock holder publishes it every
	// front.near/8 ticks, not at each, so that readers' copies stay valid.
	front frontTicks
	index index[K, V] // last: it ends with its write-side counts

	mu sync.Mutex

	seed      keySeed[K]
	capacity  int
	window    *segment[K, V]
	probation *segment[K, V] // nil without admission
	protected *segment[K, V] // nil without admission
	windowCap int
	mainCap   int
	protCap   int
	sketch    *sketch // nil without admission
	climber   climber
	ghosts    ghosts

	// weighted: entries have weights (Config.Weigher); scale is then the
	// number of entries the sketch, the climber's sample and the replay
	// bounds are sized for, grown by rescale (without weights it is the
	// capacity).
	weighted bool
	scale    int

	// ticks counts entries put at the front of a list (insertions and
	// promotions), so that ticks - node.stamp bounds how far from the
	// front a node can be; front.near is the distance under which the
	// concurrent mode leaves an entry where it is (see drainStripe).
	ticks uint64
	// sampleMin is the entries from which the shard samples in the
	// concurrent mode: its share of sampleMinEntries (New sets it; tests
	// lower it to force sampling). Read under the lock only.
	sampleMin int
	// lossyUntil: replays are lossy while ticks < lossyUntil (see
	// concurrent). evidence has bit 0 set if the newest replay found
	// lookups of another stripe (see othersActive), bit 1 for the one
	// before, and so on; seen holds each stripe's lookup count when a
	// replay last looked at it.
	lossyUntil uint64
	evidence   uint32
	seen       []uint64

	// flights are the loads in progress for keys of this shard.
	flights map[K]*flight[V]

	// hits and misses of the locked lookups (GetOrLoad misses, expired
	// entries); the others are counted in reads.
	hits, misses               uint64
	evicted, expired, deletedN uint64
	rejected                   uint64   // values refused for their weight
	_                          [64]byte // keep shards' hot fields on separate cache lines
}

func newShard[K comparable, V any](seed keySeed[K], capacity int, admission, weighted bool) *shard[K, V] {
	s := &shard[K, V]{seed: seed, capacity: capacity, flights: map[K]*flight[V]{}, admission: admission, weighted: weighted,
		sampleMin: sampleMinEntries}
	s.scale = capacity
	if weighted {
		s.scale = min(capacity, initialWeightedScale)
	}
	s.index.init(seed)
	s.reads = newReadBuffer[K, V]()
	s.seen = make([]uint64, len(s.reads.stripes))
	s.missMark = &node[K, V]{}
	s.front.publish(0, s.nearSpan(), 0, s.sampleMin)
	s.window = newSegment[K, V]()
	s.windowCap = capacity
	if admission {
		s.windowCap = max(1, capacity/100)
		s.mainCap = capacity - s.windowCap
		s.protCap = s.mainCap * 8 / 10
		s.probation = newSegment[K, V]()
		s.protected = newSegment[K, V]()
		s.sketch = newSketch(s.scale)
		s.climber = newClimber(capacity, s.scale)
		s.ghosts = newGhosts(s.scale)
	}
	return s
}

// promote moves n's entry up as an access does: to the front of the LRU,
// or with admission up the W-TinyLFU lists, counting the access in the
// sketch. It reports whether n is still stored (a record may outlive its
// node: removed, evicted, or replaced by a Set). Lock held.
func (s *shard[K, V]) promote(n *node[K, V]) bool {
	if n.seg == nil {
		return false
	}
	n.stamp.Store(s.tick())
	if s.sketch == nil {
		s.window.moveToFront(n)
		return true
	}
	if ok := s.accessTinyLFU(n); ok {
		// As in Caffeine, the sketch counts hits and insertions, not
		// misses: a miss followed by its insertion counts once.
		s.hitSeen(hashKey(s.seed, n.key))
		return true
	}
	return false
}

// climb feeds one lookup's outcome to the hill climber that sizes the
// window (admission only). Lock held.
func (s *shard[K, V]) climb(hit bool) {
	if s.sketch == nil {
		return
	}
	if delta := s.climber.record(hit, s.capacity); delta != 0 {
		s.adapt(delta)
	}
}

// hit records a lock-free hit on n in the stripe of the caller's P,
// replaying the stripe when it is full and the lock is free (never
// waiting for it).
//
// In the concurrent mode a hit on an entry that went to the front of its
// list within the last front.near ticks (1/16 of the shard's entries), as
// far as the reader knows, is counted but not recorded: a replay would
// leave it in place (see drainStripe), and recording it costs a store to
// the stripe and a share of a replay. The reader knows the ticks as last
// published (see frontTicks), at most front.near/8 behind, and compares
// against 7/8 of front.near, so such an entry is within front.near ticks
// of the front.
func (s *shard[K, V]) hit(n *node[K, V]) {
	lossy := s.sampling.Load()
	if i, full := s.reads.recordHere(n, lossy, lossy && s.front.samples.Load(), !s.admission, &s.front); full {
		s.tryDrainOwn(i)
	}
}

// miss counts a lock-free miss; with admission it is recorded for the
// hill climber too, in order with the hits.
func (s *shard[K, V]) miss() {
	var mark *node[K, V]
	if s.admission {
		mark = s.missMark
	}
	if i, full := s.reads.missHere(mark, s.sampling.Load() && s.front.samples.Load()); full {
		s.tryDrainOwn(i)
	}
}

// tryDrainOwn replays stripe i, the caller's own, if the lock is free,
// lossily if the shard is read concurrently (see concurrent). Otherwise
// the other stripes' records are replayed first: with one goroutine using
// the shard they are its own, recorded on the P it ran on before Go moved
// it to this one, so they are older.
func (s *shard[K, V]) tryDrainOwn(i uint64) {
	if !s.mu.TryLock() {
		return
	}
	dirty := s.reads.dirty.bits.Load()
	others := dirty &^ (1 << i)
	lossy := s.concurrent(s.othersActive(dirty, i))
	if !lossy {
		s.drainStripes(others)
	}
	s.drainStripe(i, lossy)
	s.mu.Unlock()
}

// drainStripes replays, in full, the stripes whose bits are set. Lock held.
func (s *shard[K, V]) drainStripes(bits uint64) {
	for ; bits != 0; bits &= bits - 1 {
		s.drainStripe(uint64(bits64.TrailingZeros64(bits)), false)
	}
}

// concurrent records whether the replay about to run found lookups of
// other goroutines (see othersActive) and reports whether it should be
// lossy. Lock held.
//
// While one goroutine uses a shard, every access is replayed in order, so
// the eviction order is exactly golang-lru's. Lookups in another stripe
// since a replay last looked at it usually mean another goroutine, but
// one goroutine's lookups also split between stripes when Go moves it to
// another P, and on a loaded machine it does so every few milliseconds.
// So the shard counts as used concurrently only once concurrentEvidence
// of the last evidenceReplays replays found such lookups: a single
// goroutine would have to be moved to another P before each of them,
// concurrentEvidence-1 times within evidenceReplays replays of the shard
// (a replay comes at least every stripeSlots of its recorded lookups on
// the shard, and before each of its writes), which the scheduler does not
// do, while goroutines reading the shard at the same time show up at
// almost every replay. It then counts as used concurrently until capacity
// insertions and promotions pass without that evidence, and replaying
// every hit would cost more than the lock-free lookup saved (a promotion
// writes the links of three nodes, which are cold in the CPU cache):
// readers leave entries near the front unrecorded and, in a cache of
// sampleMinEntries entries or more, stripes record one lookup in
// sampleEvery (readers see the answer in s.sampling), replays skip
// entries near the front (see drainStripe), and a write replays only its
// own P's stripe (see drainBeforeWrite). The entries read most are
// still promoted often, and the order approximates LRU, as with
// Caffeine's lossy read buffers. The first replay after the mode ends
// replays every stripe's records.
func (s *shard[K, V]) concurrent(othersSeen bool) bool {
	s.evidence <<= 1
	if othersSeen {
		s.evidence |= 1
	}
	if bits64.OnesCount32(s.evidence&(1<<evidenceReplays-1)) >= concurrentEvidence {
		s.lossyUntil = s.ticks + uint64(s.scale)
	}
	return s.lossy()
}

// frontTicks publishes the shard's ticks, and what follows from its
// number of entries, to lock-free readers (see hit). Both are counted in
// entries, not weight, so that a weighted shard's bounds are its
// entries' too.
type frontTicks struct {
	_       [cacheLine]byte
	ticks   atomic.Uint64
	within  atomic.Uint64 // near - near/8
	samples atomic.Bool   // the shard held shard.sampleMin entries or more
	_       [cacheLine - 17]byte
	// near is the distance in ticks from the front under which the
	// concurrent mode leaves an entry in place: 1/16 of the shard's
	// capacity in entries (see nearSpan) at the last publication. every is how many ticks pass
	// between publications (near/8), and last the ticks last published.
	// Only the lock holder uses them.
	near, every, last uint64
}

// publish tells readers the ticks, resizes near for span (the shard's
// capacity, or for a weighted shard, whose capacity is a weight, its
// entries) and decides whether the shard samples from its entries, if
// every ticks passed since the last publication. A reader
// then sees ticks at most every-1 behind, so an entry it finds within
// near - near/8 of them is within near of the front (see hit). Lock
// held.
func (f *frontTicks) publish(ticks uint64, span, entries, sampleMin int) {
	if ticks-f.last < f.every {
		return
	}
	f.last = ticks
	if near := uint64(max(1, span/16)); near != f.near {
		f.near = near
		f.every = max(1, near/8)
		f.within.Store(near - near/8)
	}
	if samples := entries >= sampleMin; samples != f.samples.Load() {
		f.samples.Store(samples)
	}
	f.ticks.Store(ticks)
}

// nearFront reports whether an entry stamped at stamp went to the front
// of its list within near - near/8 of the published ticks (or after they
// were published). No lock.
func (f *frontTicks) nearFront(stamp uint64) bool {
	return int64(f.ticks.Load()-stamp) < int64(f.within.Load())
}

// tick counts an entry put at the front of a list and returns the new
// count. The tick that ends the concurrent mode tells lock-free readers
// at once (s.sampling): otherwise they would go on leaving hits
// unrecorded until the next replay, and a write finding no records
// replays nothing, so hits made after the mode ended would be lost from
// the order. Lock held.
func (s *shard[K, V]) tick() uint64 {
	s.ticks++
	s.front.publish(s.ticks, s.nearSpan(), s.index.live, s.sampleMin)
	if s.ticks == s.lossyUntil {
		s.sampling.Store(false)
	}
	return s.ticks
}

// nearSpan is the number of entries the near-front distance is 1/16 of:
// the capacity, or for a weighted shard, whose capacity is a weight, the
// entries it holds (a weighted shard of 64 entries of weight 1 024 had
// taken all of them for near the front). Lock held.
func (s *shard[K, V]) nearSpan() int {
	if s.weighted {
		return s.index.live
	}
	return s.capacity
}

// lossy reports whether the shard counts as used concurrently, and
// publishes the answer to lock-free readers. Lock held.
func (s *shard[K, V]) lossy() bool {
	lossy := s.ticks < s.lossyUntil
	if lossy != s.sampling.Load() {
		s.sampling.Store(lossy)
	}
	return lossy
}

// sampleMinEntries is the number of stored entries (not weight) from
// which a cache's concurrent mode samples (records one lookup in
// sampleEvery): each shard samples once it holds its share
// (sampleMinEntries divided by the shards, shard.sampleMin), as of the
// last publication of its ticks (frontTicks). Sampling saves list moves
// of entries that are cold in the CPU cache, 24 % of the CPU time of
// parallel reads of a 100 000-entry cache; a smaller cache's lists stay
// in the CPU cache. And sampling delays promotions: in a shard of 64 entries
// with one insertion per read, 4 hot keys read at random were evicted
// 406 times in 20 000 reads with sampling, 4 without (an LRU: 3).
const sampleMinEntries = 4096

// The concurrent mode needs concurrentEvidence of the last
// evidenceReplays replays (the bits of shard.evidence) to have found
// lookups of another stripe.
const (
	evidenceReplays    = 16
	concurrentEvidence = 4
)

// othersActive reports whether any stripe of bits (the dirty ones) other
// than own (the stripe of the replaying goroutine's P) had lookups since
// a replay last looked at it, and notes the counts of all of them. A stripe's count
// (its tail, skipped and misses, on one cache line) changes only by
// lookups made on its P, so for one goroutine a true answer means that Go
// moved it to another P since the previous true answer. A stripe whose
// records a lossy replay left in place (it replays only its own) but that
// nobody uses any more is not counted again. Lock held.
func (s *shard[K, V]) othersActive(bits, own uint64) bool {
	found := false
	for ; bits != 0; bits &= bits - 1 {
		i := uint64(bits64.TrailingZeros64(bits))
		st := &s.reads.stripes[i]
		n := st.tail.Load() + st.skipped.Load() + st.misses.Load()
		if n != s.seen[i] {
			s.seen[i] = n
			found = found || i != own
		}
	}
	return found
}

// drainBeforeWrite replays the reads recorded before a write (or a locked
// lookup), so that a goroutine's reads and writes reach the lists in the
// order it made them. Lock held. Unless the shard is used concurrently,
// every stripe's records are replayed, whoever's they are, the stripe of
// the writer's P last (with one goroutine using the shard, the others hold
// its reads from before Go moved it to this P). Used concurrently, only
// the writer's own P's stripe is replayed, lossily (near-front entries
// stay): other readers replay their own records when their stripes fill,
// and the cleanup sweep those of readers that stopped. The own stripe is
// what bounds how long a goroutine's hits wait before they reach the
// lists (without it, until the stripe filled: a small cache with an
// insertion per read evicted its hot keys meanwhile); it costs nothing
// measurable on a 75/25 mix now that readers leave near-front entries
// unrecorded (docs/BENCHMARKS.md).
func (s *shard[K, V]) drainBeforeWrite() {
	bits := s.reads.dirty.bits.Load()
	if bits == 0 {
		return
	}
	if s.lossy() {
		// In the concurrent mode a write replays only its own P's stripe
		// and looks for no evidence: the readers' replays keep the mode
		// going, and reading every stripe's counts (cache lines other CPUs
		// write) inside the lock took 11 % of the CPU time of a 75/25 mix.
		if here := s.reads.here(); bits&(1<<here) != 0 {
			s.drainStripe(here, true)
		}
		return
	}
	here := s.reads.here()
	if s.concurrent(s.othersActive(bits, here)) {
		return
	}
	own := uint64(1) << here
	s.drainStripes(bits &^ own)
	s.drainStripes(bits & own)
}

// drainAll replays every stripe's records, in the current mode: it is
// the cleanup sweep's or Purge's (another goroutine's) replay, so it is
// not taken as evidence of concurrent use. Lock held.
func (s *shard[K, V]) drainAll() {
	bits := s.reads.dirty.bits.Load()
	lossy := s.lossy()
	for ; bits != 0; bits &= bits - 1 {
		s.drainStripe(uint64(bits64.TrailingZeros64(bits)), lossy)
	}
}

// drainStripe replays stripe i's records, oldest first, and clears its
// dirty bit unless records arrived meanwhile. Lock held. A lossy replay
// (the shard is read concurrently) skips entries that went to the front
// of their list within
// the last front.near insertions and promotions: moving them would barely
// change the order, and each move touches list elements that are cold in
// the CPU cache. A record being written while it runs may be replayed as
// the slot's previous node or skipped; either only changes the order
// slightly.
func (s *shard[K, V]) drainStripe(i uint64, lossy bool) {
	st := &s.reads.stripes[i]
	h := st.head.Load()
	t := st.tail.Load()
	end := min(t, h+stripeSlots) // records from h+stripeSlots on were dropped
	for p := h; p < end; p++ {
		n := st.slots[p&(stripeSlots-1)].Load()
		switch {
		case n == nil:
		case n == s.missMark:
			s.climb(false)
		case lossy && s.ticks-n.stamp.Load() < s.front.near:
		default:
			if s.promote(n) {
				s.climb(true)
			}
		}
	}
	st.head.Store(t)
	s.reads.dirty.bits.And(^(1 << i))
	// A reader that took a position before the head store above read the
	// old head, so it did not mark the stripe: mark it for it.
	if st.tail.Load() != t {
		s.reads.dirty.bits.Or(1 << i)
	}
}

// accessTinyLFU promotes n, which is stored, in the W-TinyLFU lists.
func (s *shard[K, V]) accessTinyLFU(n *node[K, V]) bool {
	switch n.seg {
	case s.protected, s.window:
		n.seg.moveToFront(n)
	case s.probation:
		// A second access in the main area: promote to protected, demoting
		// protected's oldest to probation if protected is full.
		s.probation.remove(n)
		s.protected.pushFront(n)
		for s.protected.Weight() > s.protCap {
			s.probation.pushFront(s.protected.removeOldest())
		}
	default:
		return false
	}
	return true
}

// remove deletes key and returns its node, or nil. Lock held.
func (s *shard[K, V]) remove(key K, h uint64) *node[K, V] {
	n := s.index.remove(key, h)
	if n != nil && n.seg != nil {
		n.seg.remove(n)
	}
	return n
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

// put stores n under key. An existing entry's node is replaced, and the
// entry becomes the most recent of its list, as an access would make it:
// always while one goroutine uses the shard; under concurrent use only if
// it is not already near the front (see drainStripe) and weighs what the
// entry it replaces weighed. A new entry, or a heavier one, may push
// entries out, which go to evs for reporting after unlock. n weighs at
// most the shard's capacity (the caller refuses heavier entries).
func (s *shard[K, V]) put(key K, h uint64, n *node[K, V], now int64, evs *evictions[K, V]) {
	if old := s.index.put(n, h); old != nil {
		old.seg.replace(old, n)
		n.stamp.Store(old.stamp.Load())
		if n.weight != old.weight {
			s.moveFront(n)
		} else {
			s.touch(n)
		}
		if n.weight > old.weight {
			s.enforce(now, evs)
		}
		return
	}
	n.stamp.Store(s.tick())
	if s.sketch != nil {
		s.sketch.increment(h)
		if s.weighted {
			s.rescale()
		}
		s.returning(h)
	}
	s.window.pushFront(n)
	s.enforce(now, evs)
}

// touch makes n, a stored entry just written, the most recent of its list,
// as an access would: always while one goroutine uses the shard; under
// concurrent use only if it is not already near the front (see
// drainStripe). Lock held.
func (s *shard[K, V]) touch(n *node[K, V]) {
	if s.ticks < s.lossyUntil && s.ticks-n.stamp.Load() < s.front.near {
		return
	}
	s.moveFront(n)
}

// moveFront moves n, stored, to the front of its list. Lock held.
func (s *shard[K, V]) moveFront(n *node[K, V]) {
	n.stamp.Store(s.tick())
	n.seg.moveToFront(n)
}

// enforce brings every list back within its share of the capacity, the
// oldest entries leaving first: without admission, the window's oldest
// entries are evicted; with it, they go through admission into the main
// area, protected's oldest move down to probation, and main's oldest are
// evicted. The shares sum to the capacity, so the shard's weight is then
// within it. Lock held.
func (s *shard[K, V]) enforce(now int64, evs *evictions[K, V]) {
	if s.sketch == nil {
		for s.window.Weight() > s.windowCap {
			evs.add(s.outgoing(s.window.removeOldest(), now))
		}
		return
	}
	for s.window.Weight() > s.windowCap {
		s.admit(s.window.removeOldest(), now, evs)
	}
	for s.protected.Weight() > s.protCap {
		s.probation.pushFront(s.protected.removeOldest())
	}
	for s.mainWeight() > s.mainCap {
		victim := s.probation.removeOldest()
		if victim == nil {
			victim = s.protected.removeOldest()
		}
		evs.add(s.outgoing(victim, now))
	}
}

// mainWeight is the weight of the main area (probation and protected).
func (s *shard[K, V]) mainWeight() int { return s.probation.Weight() + s.protected.Weight() }

// rescale grows the sketch, the hill climber's sample and the replay
// bounds with the number of entries of a weighted shard, whose capacity
// is a weight and says little about how many entries it holds. Lock held.
func (s *shard[K, V]) rescale() {
	if s.index.live <= s.scale {
		return
	}
	s.scale = min(s.capacity, 2*s.index.live)
	s.sketch.ensure(s.scale)
	s.climber.sampleSize = 10 * s.scale
	s.ghosts = newGhosts(s.scale)
}

// admit moves a candidate leaving the window (unlinked) into the main
// area, or rejects it, by the TinyLFU rule: while the main area has no
// room for the candidate, it replaces main's oldest entry (the victim)
// only if the sketch estimates that it was accessed more often recently;
// otherwise the candidate leaves. Expired entries, and candidates heavier
// than the whole main area, lose at once.
func (s *shard[K, V]) admit(cn *node[K, V], now int64, evs *evictions[K, V]) {
	if int(cn.weight) > s.mainCap || !cn.liveAt(now) {
		evs.add(s.outgoing(cn, now))
		return
	}
	for s.mainWeight()+int(cn.weight) > s.mainCap {
		from := s.probation
		vn := from.oldest()
		if vn == nil {
			from = s.protected
			vn = from.oldest()
		}
		if vn.liveAt(now) && !s.admits(cn.key, vn.key) {
			s.ghosts.refuse(hashKey(s.seed, cn.key))
			evs.add(s.outgoing(cn, now))
			return
		}
		from.remove(vn)
		s.ghosts.displace(hashKey(s.seed, vn.key))
		evs.add(s.outgoing(vn, now))
	}
	s.probation.pushFront(cn)
}

// admits reports whether the candidate should replace the victim: only if
// it was used more often recently (ties keep the victim, which makes
// looping scans hit instead of churning). Caffeine also admits a warm
// candidate at random now and then, against attackers who raise a victim's
// count with colliding keys; here the sketch's hash has a secret random
// seed per cache (see keySeed), so collisions cannot be aimed, and that
// randomness, which costs up to 8 points of hit ratio on looping traces,
// is left out.
func (s *shard[K, V]) admits(candidate, victim K) bool {
	return s.sketch.frequency(hashKey(s.seed, candidate)) > s.sketch.frequency(hashKey(s.seed, victim))
}

// initialWeightedScale is the number of entries a weighted shard's
// sketch is first sized for (see rescale).
const initialWeightedScale = 1024

// outgoing counts an entry pushed out of the lists for room (n, already
// unlinked), removes it from the index and says whether to report it: an
// entry already past its expiry is reported as expired. Lock held.
func (s *shard[K, V]) outgoing(n *node[K, V], now int64) (eviction[K, V], bool) {
	s.index.remove(n.key, hashKey(s.seed, n.key))
	reason := Evicted
	if !n.liveAt(now) {
		reason = Expired
		s.expired++
	} else {
		s.evicted++
	}
	if n.missing != nil {
		return eviction[K, V]{}, false
	}
	return eviction[K, V]{key: n.key, value: n.value, reason: reason}, true
}
