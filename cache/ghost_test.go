package cache

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replayTrace runs keys through a one-shard cache (Get; Set on a miss) and
// returns its hit ratio and its window's final share of the capacity.
func replayTrace(t *testing.T, keys []uint64, capacity int, admission bool) (hitRatio, window float64) {
	t.Helper()
	c := newTestCache(t, Config[uint64, struct{}]{Capacity: capacity, Shards: 1, Admission: admission, CleanupInterval: -1})
	hits := 0
	for _, k := range keys {
		if _, ok := c.Get(k); ok {
			hits++
		} else {
			require.NoError(t, c.Set(k, struct{}{}))
		}
	}
	s := c.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(hits) / float64(len(keys)), float64(s.windowCap) / float64(capacity)
}

// zipfKeys draws n keys from a Zipf law over m keys, offset by base.
func zipfKeys(rng *rand.Rand, n, m int, base uint64) []uint64 {
	z := rand.NewZipf(rng, 1.01, 1, uint64(m-1))
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = base + z.Uint64()
	}
	return keys
}

// A working set that moves to new keys every 30 000 requests is plain
// LRU's best case: the frequency filter keeps refusing the new hot keys
// while the old ones' counts fade. The refused keys' returns grow the
// window until the cache behaves as an LRU.
func TestWindowGrowsTowardsLRUOnShiftingWorkingSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var keys []uint64
	for phase := range 20 {
		keys = append(keys, zipfKeys(rng, 30_000, 8_000, uint64(phase)<<32)...)
	}
	lru, _ := replayTrace(t, keys, 4000, false)
	tiny, window := replayTrace(t, keys, 4000, true)
	t.Logf("LRU %.2f %%, W-TinyLFU %.2f %% (window %.0f %% of the capacity)", 100*lru, 100*tiny, 100*window)
	assert.GreaterOrEqual(t, tiny, lru-0.01, "within a point of LRU")
	assert.Greater(t, window, 0.5, "the window grew to most of the cache")
}

// On a static Zipf workload frequency wins: the window stays small and
// admission beats LRU clearly.
func TestWindowStaysSmallOnAFrequencySkewedWorkload(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	keys := zipfKeys(rng, 400_000, 100_000, 0)
	lru, _ := replayTrace(t, keys, 2000, false)
	tiny, window := replayTrace(t, keys, 2000, true)
	t.Logf("LRU %.2f %%, W-TinyLFU %.2f %% (window %.0f %% of the capacity)", 100*lru, 100*tiny, 100*window)
	assert.Greater(t, tiny, lru+0.03, "frequency admission is at least 3 points ahead")
	assert.Less(t, window, 0.25)
}

func TestGhostReturnsCountOnlyWithinReach(t *testing.T) {
	g := newGhosts(1024)
	g.refuse(0xabcdef0012345678)
	assert.True(t, g.recall(g.refused, 0xabcdef0012345678, g.reach), "a return right after the refusal counts")
	assert.False(t, g.recall(g.refused, 0xabcdef0012345678, g.reach), "and only once")
	g.refuse(0x1111111100000001)
	g.inserts += g.reach + 1
	assert.False(t, g.recall(g.refused, 0x1111111100000001, g.reach), "a return out of reach does not count")
	assert.False(t, g.recall(g.displaced, 0x2222222200000002, g.reach), "nothing remembered")
}

// A refused candidate's return counts only within twice the window's size
// (at least 16 insertions), even when the reach is longer.
func TestRefusedReturnCountsWithinTwiceTheWindow(t *testing.T) {
	c := newTestCache(t, Config[uint64, struct{}]{Capacity: 8000, Shards: 1, Admission: true, CleanupInterval: -1})
	s := c.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &s.ghosts
	require.Greater(t, g.reach, uint32(2*s.windowCap+1), "the test needs a reach beyond twice the window")
	window := s.windowCap
	g.refuse(0x3333333300000003)
	g.inserts += uint32(2*window) + 1
	s.returning(0x3333333300000003)
	assert.Equal(t, window, s.windowCap, "a return after more than twice the window's insertions leaves the window alone")
	g.refuse(0x4444444400000004)
	for range 128 { // enough counted returns to move the boundary by a step
		g.refuse(0x4444444400000004)
		s.returning(0x4444444400000004)
	}
	assert.Greater(t, s.windowCap, window, "returns within twice the window grow it")
}

// The sketch counts nothing until half the shard's entries were inserted,
// then counts every access.
func TestSketchCountsFromHalfFull(t *testing.T) {
	c := newTestCache(t, Config[uint64, struct{}]{Capacity: 100, Shards: 1, Admission: true, CleanupInterval: -1})
	s := c.shards[0]
	for k := range uint64(49) {
		require.NoError(t, c.Set(k, struct{}{}))
	}
	s.mu.Lock()
	assert.False(t, s.sketch.counting, "49 of 100 inserted: not counting yet")
	assert.Zero(t, s.sketch.frequency(hashKey(s.seed, uint64(3))))
	s.mu.Unlock()
	for k := uint64(49); k < 60; k++ {
		require.NoError(t, c.Set(k, struct{}{}))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.True(t, s.sketch.counting, "counting from half full")
	assert.NotZero(t, s.sketch.frequency(hashKey(s.seed, uint64(59))), "an insertion after half full is counted")
}

// The window shrinks to 1 % of the shard's capacity at the smallest, however
// far the ghosts or the hill climber push it.
func TestWindowNeverShrinksBelowOnePercent(t *testing.T) {
	c := newTestCache(t, Config[uint64, struct{}]{Capacity: 2000, Shards: 1, Admission: true, CleanupInterval: -1})
	for k := range uint64(3000) {
		require.NoError(t, c.Set(k, struct{}{}))
	}
	s := c.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adapt(500)
	require.Equal(t, 520, s.windowCap, "grown by 500 from the initial 1 %")
	s.adapt(-10_000)
	assert.Equal(t, 20, s.windowCap, "1 % of 2 000")
	assert.Equal(t, 2000, s.windowCap+s.mainCap, "the shares still sum to the capacity")
	assert.LessOrEqual(t, s.window.Weight(), s.windowCap)
	s.adapt(-1)
	assert.Equal(t, 20, s.windowCap, "a further shrink is a no-op")
}
