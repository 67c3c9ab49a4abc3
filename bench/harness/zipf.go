// Package harness generates the workloads that Keel's benchmarks share, so
// that Keel and each peer library see exactly the same keys.
package harness

import (
	"fmt"
	"math/rand/v2"
)

// ScrambledZipf returns n keys drawn from a Zipf distribution with exponent
// s (> 1) over [0, keySpace), with ranks scrambled so that the popular keys
// are spread over the key space rather than clustered at its start (as YCSB
// does). seed makes the sequence reproducible, so every library in one run
// sees the same keys.
func ScrambledZipf(n int, s float64, keySpace uint64, seed uint64) ([]uint64, error) {
	if n < 0 {
		return nil, fmt.Errorf("harness: n must be >= 0, got %d", n)
	}
	if s <= 1 {
		return nil, fmt.Errorf("harness: Zipf exponent s must be > 1, got %g", s)
	}
	if keySpace < 2 {
		return nil, fmt.Errorf("harness: keySpace must be >= 2, got %d", keySpace)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	z := rand.NewZipf(r, s, 1, keySpace-1)
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = scramble(z.Uint64()) % keySpace
	}
	return keys, nil
}

// scramble is the 64-bit finaliser of MurmurHash3: a bijection that spreads
// neighbouring ranks far apart.
func scramble(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
