package replay

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSyntheticTracesAreReproducibleFromTheirSeed(t *testing.T) {
	for _, s := range Synthetic {
		t.Run(s.Name, func(t *testing.T) {
			a, b := s.Generate(7, 50_000), s.Generate(7, 50_000)
			require.Len(t, a, 50_000)
			assert.Equal(t, a, b, "same seed, same trace")
			assert.NotEqual(t, a, s.Generate(8, 50_000), "another seed, another trace")
			distinct := len(slices.Compact(slices.Sorted(slices.Values(a))))
			assert.Greater(t, distinct, 500, "more keys than the smallest capacity")
		})
	}
}

func TestRecencyTraceFavoursLRU(t *testing.T) {
	keys := recencyTrace(1, 200_000)
	lru, err := newGolangLRU(2000)
	require.NoError(t, err)
	// Most requests are for keys seen a short while ago: plain LRU hits them.
	assert.Greater(t, Replay(keys, lru).HitRatio, 0.6)
	_, err = SyntheticByName("nope")
	require.Error(t, err)
}
