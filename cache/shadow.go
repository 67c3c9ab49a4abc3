package cache

// shadow is a small cache of key hashes, a mini-simulation of a whole
// shard: the shard feeds it the accesses of a fixed sample of its keys
// (those whose hash falls in a fixed fraction of the hash space), and it
// holds the same fraction of the shard's entries, so its hit rate on those
// accesses estimates the hit rate of a full-size cache run by its policy
// on the same requests (spatial sampling, as in SHARDS, Waldspurger et
// al., FAST '15; the mini-simulations of Einziger, Eytan, Friedman and
// Manes, "Adaptive Software Cache Management", Middleware '18). A shadow
// is either a plain LRU or a W-TinyLFU whose window stays at 1 % and whose
// admission asks the shard's sketch. Its lists and index are arrays
// allocated once; an access allocates nothing. See referee (below) for
// what the shard does with them.
type shadow struct {
	keys       []uint64 // slot -> key hash
	prev, next []int32  // slot links, -1: none
	seg        []uint8  // slot -> list
	lists      [3]shadowList
	index      []int32 // open-addressed table of slot+1, 0: empty
	imask      uint64
	used       int32 // slots ever used
	tinyLFU    bool
	windowCap  int32
	mainCap    int32
	protCap    int32
}

type shadowList struct{ head, tail, n int32 }

const (
	shadowWindow    = 0 // the LRU's only list; W-TinyLFU's window
	shadowProbation = 1
	shadowProtected = 2
)

func newShadow(size int, tinyLFU bool) shadow {
	isize := 1
	for isize < 2*size {
		isize <<= 1
	}
	s := shadow{
		keys: make([]uint64, size), prev: make([]int32, size), next: make([]int32, size), seg: make([]uint8, size),
		index: make([]int32, isize), imask: uint64(isize - 1), tinyLFU: tinyLFU, windowCap: int32(size),
	}
	for i := range s.lists {
		s.lists[i] = shadowList{-1, -1, 0}
	}
	if tinyLFU {
		s.windowCap = int32(max(1, size/100))
		s.mainCap = int32(size) - s.windowCap
		s.protCap = s.mainCap * 8 / 10
	}
	return s
}

// reset empties the shadow, keeping its arrays.
func (s *shadow) reset() {
	clear(s.index)
	s.used = 0
	for i := range s.lists {
		s.lists[i] = shadowList{-1, -1, 0}
	}
}

// home spreads h over the index.
func (s *shadow) home(h uint64) uint64 { return (h * 0x9e3779b97f4a7c15) >> 20 & s.imask }

// find returns the index position holding h's slot, or -1.
func (s *shadow) find(h uint64) int {
	for i := s.home(h); ; i = (i + 1) & s.imask {
		e := s.index[i]
		if e == 0 {
			return -1
		}
		if s.keys[e-1] == h {
			return int(i)
		}
	}
}

// access records an access to the sampled key h and reports whether the
// shadow held it. sk gives the frequencies of a W-TinyLFU shadow.
func (s *shadow) access(h uint64, sk *sketch) bool {
	if p := s.find(h); p >= 0 {
		slot := s.index[p] - 1
		l := s.seg[slot]
		s.unlink(slot)
		if l == shadowProbation {
			l = shadowProtected
		}
		s.pushFront(slot, l)
		if s.tinyLFU {
			for s.lists[shadowProtected].n > s.protCap {
				t := s.lists[shadowProtected].tail
				s.unlink(t)
				s.pushFront(t, shadowProbation)
			}
		}
		return true
	}
	var slot int32
	if int(s.used) < len(s.keys) {
		slot = s.used
		s.used++
	} else if !s.tinyLFU {
		slot = s.lists[shadowWindow].tail
		s.drop(slot)
	} else {
		// Full: the window's oldest entry is the candidate; it takes main's
		// oldest slot if it is more frequent, else leaves.
		cand := s.lists[shadowWindow].tail
		victim := s.lists[shadowProbation].tail
		if victim < 0 {
			victim = s.lists[shadowProtected].tail
		}
		slot = victim
		if victim < 0 || sk.frequency(s.keys[cand]) <= sk.frequency(s.keys[victim]) {
			slot = cand
		}
		if slot != cand {
			s.unlink(cand)
			s.pushFront(cand, shadowProbation)
		}
		s.drop(slot)
	}
	s.keys[slot] = h
	s.pushFront(slot, shadowWindow)
	if s.tinyLFU && s.lists[shadowWindow].n > s.windowCap {
		// Not yet full: the window's oldest goes to main without a contest.
		t := s.lists[shadowWindow].tail
		s.unlink(t)
		s.pushFront(t, shadowProbation)
	}
	i := s.home(h)
	for s.index[i] != 0 {
		i = (i + 1) & s.imask
	}
	s.index[i] = slot + 1
	return false
}

// drop unlinks slot and removes its key from the index.
func (s *shadow) drop(slot int32) {
	s.unlink(slot)
	s.deleteIndex(s.find(s.keys[slot]))
}

func (s *shadow) unlink(slot int32) {
	l := &s.lists[s.seg[slot]]
	p, n := s.prev[slot], s.next[slot]
	if p >= 0 {
		s.next[p] = n
	} else {
		l.head = n
	}
	if n >= 0 {
		s.prev[n] = p
	} else {
		l.tail = p
	}
	l.n--
}

func (s *shadow) pushFront(slot int32, list uint8) {
	l := &s.lists[list]
	s.seg[slot] = list
	s.prev[slot], s.next[slot] = -1, l.head
	if l.head >= 0 {
		s.prev[l.head] = slot
	}
	l.head = slot
	if l.tail < 0 {
		l.tail = slot
	}
	l.n++
}

// deleteIndex empties index position p, shifting back the entries of the
// probe sequence after it (no tombstones).
func (s *shadow) deleteIndex(p int) {
	i := uint64(p)
	for {
		s.index[i] = 0
		j := i
		for {
			j = (j + 1) & s.imask
			e := s.index[j]
			if e == 0 {
				return
			}
			k := s.home(s.keys[e-1])
			// e may move to i unless its home lies cyclically in (i, j].
			if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
				s.index[i] = e
				i = j
				break
			}
		}
	}
}

// The referee: every shard with admission runs two shadows on the same
// sample of its accesses, the two extremes of its window, a plain LRU
// (window = the whole shard) and a W-TinyLFU with a 1 % window, and counts
// on the same accesses its own hits. Every period (twice a shadow's size
// of sampled accesses) it compares: if a shadow beat the shard by more
// than refereeMargin of the period's accesses, the window moves towards
// that extreme, by the lead times refereeGain of the capacity (at most
// refereeMaxStep), and for the next period the ghosts may not move it the
// other way. A shard that does at least as well as both (the adaptive
// window between them, as on arc-OLTP) is left to the ghosts and the hill
// climber.
//
// This catches what those two miss. The ghosts see only returns within
// twice the window's size of insertions, and the hill climber decides on
// samples of ten capacities, so on arc-P3 at 200 000 entries, where keys
// come back after about a capacity of other keys, the window swung between
// 1 % and the whole shard at the ghosts' pace and the shard ran up to 20
// points below LRU for a whole period; where frequency wins again (another
// phase of the same trace), a window grown to the whole shard leaves a
// main area of one entry, whose victims cannot come back to shrink it.
const (
	shadowFraction   = 16   // a shadow holds 1/16 of the shard's entries
	shadowMinEntries = 256  // but at least this many (all of a small shard)
	shadowPeriod     = 2    // a period is this many shadow sizes of sampled accesses
	refereeMargin    = 0.01 // a shadow must lead by more than 1 point
	refereeGain      = 4    // a lead of 5 points moves the boundary 20 % of the capacity
	refereeMaxStep   = 0.25 // at most a quarter of the capacity per period
)

// referee holds the two shadows and the current period's counts.
type referee struct {
	lru, tinyLFU              shadow
	below                     uint32 // sampled keys: 16 hash bits below this
	events                    int    // sampled accesses this period
	lruHits, tinyHits, ownHit int
	favour                    int8 // > 0: LRU led last period; < 0: W-TinyLFU 1 %
}

// newReferee sizes the shadows of a shard of entries entries.
func newReferee(entries int) referee {
	entries = max(entries, 1)
	size := max(min(entries, shadowMinEntries), entries/shadowFraction)
	return referee{
		lru: newShadow(size, false), tinyLFU: newShadow(size, true),
		below: uint32(min(1<<16, (size<<16+entries-1)/entries)),
	}
}

// reset empties the shadows and forgets the period and the last verdict
// (Purge).
func (r *referee) reset() {
	r.lru.reset()
	r.tinyLFU.reset()
	r.events, r.lruHits, r.tinyHits, r.ownHit, r.favour = 0, 0, 0, 0, 0
}

// hitSeen counts a hit on the key hash h: in the sketch, and with the
// referee. Lock held, admission on.
func (s *shard[K, V]) hitSeen(h uint64) {
	s.sketch.increment(h)
	s.referee(h, true)
}

// referee feeds an access (a hit, or the insertion that follows a miss) to
// the shadows if h is sampled, and at the end of a period moves the window
// towards a shadow that did better than the shard. Lock held.
func (s *shard[K, V]) referee(h uint64, hit bool) {
	r := &s.ghosts.ref
	if uint32(h>>8)&0xffff >= r.below {
		return
	}
	if r.lru.access(h, s.sketch) {
		r.lruHits++
	}
	if r.tinyLFU.access(h, s.sketch) {
		r.tinyHits++
	}
	if hit {
		r.ownHit++
	}
	r.events++
	if r.events < shadowPeriod*len(r.lru.keys) {
		return
	}
	up := float64(r.lruHits-r.ownHit) / float64(r.events)
	down := float64(r.tinyHits-r.ownHit) / float64(r.events)
	lead := float64(r.lruHits-r.tinyHits) / float64(r.events) // LRU over W-TinyLFU 1 %
	was := r.favour
	r.favour = 0
	switch {
	case up > refereeMargin && up >= down:
		r.favour = 1
		s.adapt(int(float64(s.capacity) * min(refereeMaxStep, refereeGain*up)))
	case down > refereeMargin:
		r.favour = -1
		s.adapt(-int(float64(s.capacity) * min(refereeMaxStep, refereeGain*down)))
	case was > 0 && lead > refereeMargin, was < 0 && -lead > refereeMargin:
		// The shard caught up with the shadow it was moved towards, which
		// still leads the other: hold.
		r.favour = was
	}
	s.climber.favour = r.favour
	r.events, r.lruHits, r.tinyHits, r.ownHit = 0, 0, 0, 0
}
