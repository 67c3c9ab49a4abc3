package adaptive

// permitSlots tells a Permit's first release from a second one without an
// allocation per call: each admitted call takes a slot, the Permit carries
// the slot's index and generation, and only the release that finds the slot
// held at that generation frees it. A second release of the same Permit —
// whatever else is in flight, the same tenant's calls included — finds the
// slot free or taken again at a later generation and is ignored; counting
// in-flight calls alone caught it only when nothing else was in flight.
//
// The slots grow with the most calls ever in flight at once (at most
// MaxLimit, the limit's ceiling), never with MaxLimit itself, and are
// guarded by the limiter's mutex.
type permitSlots struct {
	gens []uint32 // generation of each slot; odd while held
	free []int32  // indexes of the slots not held
}

// take returns a free slot, marked held, and its new generation.
func (s *permitSlots) take() (int32, uint32) {
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = int32(len(s.gens))
		s.gens = append(s.gens, 0)
	}
	s.gens[i]++ // even (free) to odd (held)
	return i, s.gens[i]
}

// give frees slot i if it is held at generation gen, and reports whether
// it was.
func (s *permitSlots) give(i int32, gen uint32) bool {
	if i < 0 || int(i) >= len(s.gens) || s.gens[i] != gen || gen%2 == 0 {
		return false
	}
	s.gens[i]++ // odd (held) to even (free)
	s.free = append(s.free, i)
	return true
}
