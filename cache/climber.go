package cache

import "math"

// The window of W-TinyLFU adapts to the workload in two ways: by the
// returns of the keys its boundary decisions pushed out (ghost.go), which
// follows a change within about a capacity of requests, and by hill
// climbing, as in Caffeine, which checks the result on the hit rate: every sample of 10 × capacity lookups the shard compares its
// hit rate with the previous sample's and moves the window/main boundary a
// step in the direction that helped (a bigger window favours recency, a
// smaller one frequency). The step starts at 6.25 % of the capacity,
// decays by 2 % per sample, and restarts when the hit rate jumps by 5
// points (the workload changed).
const (
	climbStepFraction = 0.0625
	climbStepDecay    = 0.98
	climbRestartDelta = 0.05
)

// climber is the hill-climbing state of one shard.
type climber struct {
	hits, misses int
	sampleSize   int
	prevHitRate  float64
	step         float64
	favour       int8 // the referee's: > 0, do not shrink the window; < 0, do not grow it
}

// newClimber sizes the climber of a shard of capacity (a weight with a
// Weigher) holding about entries entries: a sample is ten lookups per
// entry, a step a fraction of the capacity.
func newClimber(capacity, entries int) climber {
	return climber{sampleSize: 10 * entries, step: -climbStepFraction * float64(capacity)}
}

// record counts one lookup and, at the end of a sample, returns the
// number of entries to move the boundary by (> 0: grow the window).
func (c *climber) record(hit bool, capacity int) int {
	if hit {
		c.hits++
	} else {
		c.misses++
	}
	n := c.hits + c.misses
	if n < c.sampleSize {
		return 0
	}
	rate := float64(c.hits) / float64(n)
	change := rate - c.prevHitRate
	amount := c.step
	if change < 0 {
		amount = -c.step
	}
	if math.Abs(change) >= climbRestartDelta {
		c.step = math.Copysign(climbStepFraction*float64(capacity), amount)
	} else {
		c.step = climbStepDecay * amount
	}
	c.prevHitRate = rate
	c.hits, c.misses = 0, 0
	if c.favour > 0 && amount < 0 || c.favour < 0 && amount > 0 {
		return 0
	}
	return int(amount)
}

// adapt moves the window/main boundary by delta (entries, or weight with
// a Weigher), moving entries between the lists so that every list stays
// within its share; the shares always sum to the capacity. Called with
// s.mu held.
func (s *shard[K, V]) adapt(delta int) {
	switch {
	case delta > 0:
		// Grow the window at the expense of the main area, protected's
		// share first, up to the whole cache but one unit of main: a
		// window of all the cache is plain LRU, which a workload of
		// shifting or recency-skewed keys needs. Main's oldest entries move
		// to the window's recent end.
		limit := s.mainCap - 1
		quota := min(delta, limit)
		moved := 0
		for moved < quota {
			n := s.probation.removeOldest()
			if n == nil {
				if n = s.protected.removeOldest(); n == nil {
					break
				}
			}
			s.window.pushFront(n)
			moved += int(n.weight)
		}
		quota = max(0, min(max(moved, min(quota, s.mainCap-s.mainWeight())), limit))
		s.windowCap += quota
		s.mainCap -= quota
		s.protCap = max(0, min(s.protCap-quota, s.mainCap))
		for s.protected.Weight() > s.protCap {
			s.probation.pushFront(s.protected.removeOldest())
		}
	case delta < 0:
		// Shrink the window (to at least minWindow); its oldest entries
		// move to probation.
		quota := max(0, min(-delta, s.windowCap-minWindow(s.capacity)))
		moved := 0
		for moved < quota {
			n := s.window.removeOldest()
			if n == nil {
				break
			}
			s.probation.pushFront(n)
			moved += int(n.weight)
		}
		s.windowCap -= quota
		s.mainCap += quota
		s.protCap = min(s.protCap+quota, s.mainCap*8/10)
	}
}

// minWindow is the smallest window of a shard of capacity: 1 % of it (at
// least one unit), the window a shard starts with. A window of one entry
// sends every new key straight to admission, where a key requested again
// a few insertions later is refused (its count is still 1) and, coming
// back, counts as a refused candidate's return: a burst of such keys grew
// the window from 1 entry to the whole cache (plain LRU) within a few
// hundred requests on lirs-multi2 at 2 000 entries, for some hash seeds
// (52 % hit ratio against 68 % for the others, docs/BENCHMARKS.md). A
// window of 1 % holds those keys until their second request, so they
// never reach admission.
func minWindow(capacity int) int { return max(1, capacity/100) }
