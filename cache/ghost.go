package cache

import "math/bits"

// ghosts remember, by key hash, the entries that W-TinyLFU's two decisions
// at the window/main boundary pushed out: candidates that admission
// refused, and main-area victims that lost their place to a candidate. A
// key that comes back (is inserted again after a miss) while its ghost is
// still there shows which decision was wrong, as ARC's ghost lists do:
//
//   - a refused candidate requested again: a larger window (more recency,
//     closer to LRU) would have kept it, so the window grows;
//   - a displaced victim requested again: a smaller window (more room for
//     frequency) would have kept it, so the window shrinks.
//
// This follows a workload's shifts within about one capacity of requests,
// where the hill climber needs samples of ten capacities: on shifting and
// recency-skewed workloads, which W-TinyLFU otherwise serves worse than a
// plain LRU, the window grows towards the whole cache.
//
// A return counts only within reach insertions of the decision: a key
// that comes back much later would not have been kept by a slightly
// different boundary either. A refused candidate's return counts only
// within twice the window's size as well (at least 16): the window keeps
// about its size in insertions, so only such a return says that a window
// at most twice as big would have kept the key. Without that bound a loop
// slightly larger than the main area, whose keys all tie in the sketch and
// are refused, returns each key within reach and grows the window to the
// whole cache: plain LRU, a point and a half below W-TinyLFU with a small
// window there (syn-loop at 8 000, docs/BENCHMARKS.md). On shifting and
// recency-skewed workloads keys come back soon after they were refused, so
// the window still grows fast there. The bound does not stop a burst of
// returns from growing the window many times over within its own size of
// insertions: what keeps a burst of keys requested twice in quick
// succession from being refused at all is the window's floor of 1 % of
// the shard (minWindow, climber.go). Each ghost is a direct-mapped table of a
// 32-bit fingerprint and the insertion count, one slot per entry of the
// shard (16 bytes per entry for the two): remembering a key overwrites
// whatever shared its slot. A false match (same slot and fingerprint, 1
// in 2^32) only moves the boundary by a step.
type ghosts struct {
	refused, displaced   []uint64 // fingerprint << 32 | insertion count, 0: empty
	mask                 uint64
	inserts              uint32  // insertions of new keys into the shard (wraps)
	reach                uint32  // how many insertions back a return counts
	nRefused, nDisplaced float64 // decayed counts of each decision
	pending              float64 // boundary move not yet applied
	ref                  referee // shadows that check the window (shadow.go)
}

func newGhosts(entries int) ghosts {
	n := 1 << bits.Len(uint(max(entries, 16)-1))
	return ghosts{refused: make([]uint64, n), displaced: make([]uint64, n), mask: uint64(n - 1),
		reach: uint32(max(16, int(float64(entries)*ghostReach))), ref: newReferee(entries)}
}

// refuse remembers a candidate that admission refused.
func (g *ghosts) refuse(h uint64) {
	g.nRefused++
	g.remember(g.refused, h)
}

// displace remembers a main-area victim that a candidate displaced.
func (g *ghosts) displace(h uint64) {
	g.nDisplaced++
	g.remember(g.displaced, h)
}

// remember stores h's fingerprint (never 0, which marks an empty slot)
// with the insertion count.
func (g *ghosts) remember(table []uint64, h uint64) {
	table[h&g.mask] = uint64(uint32(h>>32)|1)<<32 | uint64(g.inserts)
}

// recall reports whether h is remembered in table from within reach
// insertions, and forgets it.
func (g *ghosts) recall(table []uint64, h uint64, reach uint32) bool {
	i := h & g.mask
	e := table[i]
	if uint32(e>>32) != uint32(h>>32)|1 {
		return false
	}
	table[i] = 0
	return g.inserts-uint32(e) <= reach
}

const (
	// ghostReach: a return counts if it comes within this fraction of the
	// shard's entries of insertions after the decision, the extra room a
	// few steps of the boundary would have given the key.
	ghostReach = 0.125
	// ghostStepDivisor: each counted return moves the boundary by
	// capacity / ghostStepDivisor, scaled as returning says.
	ghostStepDivisor = 128
)

// returning adjusts the window for a key inserted after a miss, if one of
// its ghosts is remembered within reach. Refusals are far more common than
// displacements when the frequency filter is doing its job (most one-time
// keys are refused), so raw counts of returns would always favour the
// window; each return is weighed, as ARC weighs its ghost hits by the
// ratio of its ghost lists, by how rare its kind of decision is: a refused
// candidate's return counts nDisplaced/nRefused of a step (at most one), a
// displaced victim's nRefused/nDisplaced (at most one). Both counts halve
// every shard-size of insertions, so they describe the recent workload.
// It also starts the sketch's counting once half the shard's entries were
// inserted (see sketch.counting). Lock held, admission on.
func (s *shard[K, V]) returning(h uint64) {
	g := &s.ghosts
	s.referee(h, false)
	g.inserts++
	if g.inserts%uint32(g.mask+1) == 0 {
		g.nRefused, g.nDisplaced = g.nRefused/2, g.nDisplaced/2
	}
	step := float64(max(1, s.capacity/ghostStepDivisor))
	if !s.sketch.counting && int(g.inserts) >= s.scale/2 {
		s.sketch.counting = true
	}
	switch {
	case g.recall(g.refused, h, min(g.reach, uint32(max(16, 2*s.windowCap)))):
		if g.ref.favour >= 0 {
			g.pending += step * min(1, (g.nDisplaced+1)/(g.nRefused+1))
		}
	case g.recall(g.displaced, h, g.reach):
		if g.ref.favour <= 0 {
			g.pending -= step * min(1, (g.nRefused+1)/(g.nDisplaced+1))
		}
	}
	if d := int(g.pending); d != 0 {
		g.pending -= float64(d)
		s.adapt(d)
	}
}
