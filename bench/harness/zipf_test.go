package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScrambledZipfIsSkewedReproducibleAndInRange(t *testing.T) {
	a, err := ScrambledZipf(100_000, 1.01, 10_000, 7)
	require.NoError(t, err)
	b, err := ScrambledZipf(100_000, 1.01, 10_000, 7)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, same keys")

	counts := map[uint64]int{}
	for _, k := range a {
		require.Less(t, k, uint64(10_000))
		counts[k]++
	}
	top := 0
	for _, c := range counts {
		top = max(top, c)
	}
	assert.Greater(t, top, 100_000/100, "the hottest key is far above a uniform share")
	assert.Greater(t, len(counts), 1000, "the tail is long")

	_, err = ScrambledZipf(1, 1, 10, 0)
	assert.ErrorContains(t, err, "s must be > 1")
	_, err = ScrambledZipf(-1, 1.1, 10, 0)
	assert.ErrorContains(t, err, "n must be >= 0")
}

func BenchmarkScrambledZipf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ScrambledZipf(1024, 1.01, 1<<20, 1); err != nil {
			b.Fatal(err)
		}
	}
}
