package replay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Synthetic traces, generated from a seed so that a table can be
// reproduced, cover the shapes the public traces leave out or hold only
// once: recency-skewed (LRU's best case, where frequency admission
// loses), frequency-skewed (Zipf), scans over a hot set, loops, and
// working sets that shift. Each is n requests long.
var Synthetic = []struct {
	Name       string
	Capacities []int
	Generate   func(seed uint64, n int) []uint64
}{
	{"syn-recency", []int{500, 2000, 8000}, recencyTrace},
	{"syn-zipf", []int{500, 2000, 8000}, zipfTrace},
	{"syn-scan", []int{500, 2000, 8000}, scanTrace},
	{"syn-loop", []int{500, 2000, 8000}, loopTrace},
	{"syn-shift", []int{500, 2000, 8000}, shiftTrace},
}

// recencyTrace: keys are born one after another and requested mostly
// soon after their birth; how long ago a requested key was born follows a
// heavy-tailed (Pareto) law, so the next request is most likely a key
// seen recently, whatever its count (stack distance, not frequency, is
// what predicts it). A quarter of the requests are new keys.
func recencyTrace(seed uint64, n int) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	keys := make([]uint64, 0, n)
	born := uint64(0)
	for range n {
		if born == 0 || rng.Float64() < 0.25 {
			born++
			keys = append(keys, born)
			continue
		}
		// Pareto age with shape 1.1 and scale 1: mostly small, a long tail.
		age := uint64(math.Pow(1-rng.Float64(), -1/1.1))
		keys = append(keys, born-min(age, born-1))
	}
	return keys
}

// zipf draws from a static Zipf law of exponent s over m keys, scrambled
// so that popular keys are not numerically close.
type zipf struct {
	cdf []float64
}

func newZipf(s float64, m int) zipf {
	cdf := make([]float64, m)
	sum := 0.0
	for i := range m {
		sum += 1 / math.Pow(float64(i+1), s)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return zipf{cdf}
}

func (z zipf) draw(rng *rand.Rand) uint64 {
	return uint64(sort.SearchFloat64s(z.cdf, rng.Float64())) * 0x9e3779b97f4a7c15
}

// zipfTrace: frequency-skewed, Zipf s = 0.9 over 100 000 keys.
func zipfTrace(seed uint64, n int) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	z := newZipf(0.9, 100_000)
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = z.draw(rng)
	}
	return keys
}

// scanTrace: a Zipf hot set (s = 0.9 over 20 000 keys) interrupted every
// 20 000 requests by a scan of 10 000 keys never seen before.
func scanTrace(seed uint64, n int) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	z := newZipf(0.9, 20_000)
	keys := make([]uint64, 0, n)
	next := uint64(1) << 62
	for len(keys) < n {
		for range min(20_000, n-len(keys)) {
			keys = append(keys, z.draw(rng))
		}
		for range min(10_000, n-len(keys)) {
			next++
			keys = append(keys, next)
		}
	}
	return keys
}

// loopTrace: a loop over 6 000 keys (larger than every capacity but one)
// mixed one request in four with a Zipf hot set (s = 0.9 over 5 000).
func loopTrace(seed uint64, n int) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 4))
	z := newZipf(0.9, 5_000)
	keys := make([]uint64, n)
	loop := uint64(0)
	for i := range keys {
		if rng.IntN(4) == 0 {
			keys[i] = z.draw(rng)
			continue
		}
		keys[i] = 1<<62 + loop
		loop = (loop + 1) % 6_000
	}
	return keys
}

// shiftTrace: a Zipf working set (s = 1.0 over 10 000 keys) that moves to
// new keys every 50 000 requests: what was hot stops being requested.
func shiftTrace(seed uint64, n int) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 5))
	z := newZipf(1.0, 10_000)
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = z.draw(rng) + uint64(i/50_000)<<48
	}
	return keys
}

// SyntheticByName returns the generator of a synthetic trace.
func SyntheticByName(name string) (func(seed uint64, n int) []uint64, error) {
	for _, s := range Synthetic {
		if s.Name == name {
			return s.Generate, nil
		}
	}
	return nil, fmt.Errorf("replay: no synthetic trace %q", name)
}
