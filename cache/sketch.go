package cache

import "math/bits"

// sketch is a count-min sketch of 4-bit counters that estimates how often
// each key hash was seen recently (the TinyLFU frequency filter). Each
// uint64 word holds 16 counters; a key touches one counter in each of four
// words chosen by four differently seeded hashes, and its estimate is the
// smallest of the four. After sampleSize increments every counter is
// halved, so old popularity fades and the sketch follows a changing
// workload. Not safe for concurrent use: the owning shard's lock guards it.
//
// The sketch counts nothing until the shard has had half its entries
// inserted (counting, set by the shard), as otter and Caffeine create
// theirs only then: until the shard is full no admission decision is made,
// and the accesses of the first fill, counted, would fill the first sample
// with keys whose counts say little about what follows (on lirs-multi2 at
// 500 entries, counting from the first insertion loses 1.5 points of hit
// ratio, docs/BENCHMARKS.md).
type sketch struct {
	table      []uint64
	mask       uint64
	additions  int
	sampleSize int
	counting   bool
}

// sketchSeeds decorrelate the four counters of a key.
var sketchSeeds = [4]uint64{0xc3a5c85c97cb3127, 0xb492b66fbe98f273, 0x9ae16a3b2f90404f, 0xcbf29ce484222325}

// newSketch sizes the sketch for a shard of the given capacity: one word
// (16 counters) per entry, rounded up to a power of two, and a sample of
// ten accesses per entry between halvings (as in the TinyLFU paper).
func newSketch(capacity int) *sketch {
	words := 1 << bits.Len(uint(max(capacity, 16)-1))
	return &sketch{
		table:      make([]uint64, words),
		mask:       uint64(words - 1),
		sampleSize: 10 * max(capacity, 16),
	}
}

// ensure grows the sketch to count entries keys (a weighted shard, whose
// entry count is not known in advance). The counts start over.
func (s *sketch) ensure(entries int) {
	words := 1 << bits.Len(uint(max(entries, 16)-1))
	if words <= len(s.table) {
		return
	}
	*s = sketch{table: make([]uint64, words), mask: uint64(words - 1), sampleSize: 10 * max(entries, 16), counting: s.counting}
}

// slot returns the word and bit shift of the key's i-th counter.
func (s *sketch) slot(h uint64, i int) (word uint64, shift uint) {
	x := (h + sketchSeeds[i]) * sketchSeeds[(i+1)&3]
	x ^= x >> 31
	return x & s.mask, uint(x>>60) << 2
}

// increment counts one access to the key hash h.
func (s *sketch) increment(h uint64) {
	if !s.counting {
		return
	}
	added := false
	for i := range 4 {
		w, sh := s.slot(h, i)
		if (s.table[w]>>sh)&0xf < 0xf {
			s.table[w] += 1 << sh
			added = true
		}
	}
	if added {
		s.additions++
		if s.additions >= s.sampleSize {
			s.halve()
		}
	}
}

// frequency estimates how often h was seen recently (0..15).
func (s *sketch) frequency(h uint64) uint64 {
	f := uint64(0xf)
	for i := range 4 {
		w, sh := s.slot(h, i)
		f = min(f, (s.table[w]>>sh)&0xf)
	}
	return f
}

// halve divides every counter by two: the aging step.
func (s *sketch) halve() {
	for i, w := range s.table {
		s.table[i] = (w >> 1) & 0x7777777777777777
	}
	s.additions /= 2
}

// reset clears the sketch (Purge).
func (s *sketch) reset() {
	clear(s.table)
	s.additions = 0
}
