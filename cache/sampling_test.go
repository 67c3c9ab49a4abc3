package cache

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests for the sampled read records of the concurrent mode
// (ported from a review's reproductions). Each forces the mode, sampled,
// on a one-shard cache with one P, so every lookup goes to stripe 0 and
// the outcome is deterministic.

// forceConcurrent puts s in the concurrent mode for good.
func forceConcurrent[K comparable, V any](s *shard[K, V]) {
	s.mu.Lock()
	s.lossyUntil = math.MaxUint64
	s.lossy()
	s.mu.Unlock()
}

// forceSampling puts s in the concurrent mode for good, sampled as a
// shard of sampleMinEntries or more is, whatever its capacity.
func forceSampling[K comparable, V any](s *shard[K, V]) {
	s.mu.Lock()
	s.sampleMin = 0
	s.front.samples.Store(true)
	s.mu.Unlock()
	forceConcurrent(s)
}

// A hot key read alone between insertions must still be promoted: with
// the repeat skip applied while sampling, it was recorded once, every
// later sampled hit was skipped as a repeat, the stripe never filled,
// and the key was evicted every capacity insertions (40 times here).
// It fails too if sampling records nothing.
func TestSampledHotKeyReadAloneIsPromoted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one P: one stripe
	const capacity, hot, rounds = 64, -1, 40 * 64
	evictedHot := 0
	c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, CleanupInterval: -1,
		OnEvict: func(k, _ int, _ EvictionReason) {
			if k == hot {
				evictedHot++
			}
		}})
	for k := range capacity - 1 {
		c.Set(k, k)
	}
	c.Set(hot, hot)
	forceSampling(c.shards[0])
	for i := range rounds {
		for range 20 {
			if _, ok := c.Get(hot); !ok {
				c.Set(hot, hot)
			}
		}
		c.Set(1000+i, i)
	}
	require.True(t, c.shards[0].sampling.Load(), "the test ran in the concurrent mode")
	assert.Zero(t, evictedHot, "a key read 20 times per insertion stays in a %d-entry LRU", capacity)
}

// A key read on every other lookup (H, X, H, X ...) must be sampled: a
// fixed one-in-8 counter never sampled it, and it was evicted every
// capacity insertions. The capacity (256) is well above the insertions
// between two replays of the stripe (16 records, about 128 lookups, 64
// insertions), so only a sample that misses the key can evict it.
func TestSampledKeyReadEveryOtherLookupIsPromoted(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		const capacity, hot, x = 256, 0, 1
		evictedHot := 0
		c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, Admission: admission, CleanupInterval: -1,
			OnEvict: func(k, _ int, _ EvictionReason) {
				if k == hot {
					evictedHot++
				}
			}})
		for k := range capacity {
			c.Set(capacity-1-k, k) // hot and x newest
		}
		forceSampling(c.shards[0])
		for i := range 20 * capacity {
			if _, ok := c.Get(hot); !ok {
				c.Set(hot, hot)
			}
			c.Get(x)
			c.Set(1000+i, i) // one new key per iteration
		}
		assert.Zero(t, evictedHot, "the key read on every other lookup stays in a %d-entry cache", capacity)
	})
}

// The sample records about one lookup in sampleEvery, and so does every
// phase of every short period: no periodic pattern of lookups falls
// always (or never) in the sample. Fails if sampling records nothing,
// everything, or one lookup in sampleEvery by a fixed counter.
func TestSampleIsOneInEightAtEveryPhase(t *testing.T) {
	var b readBuffer[int, int]
	b.stripes = make([]stripe[int, int], 1)
	st := &b.stripes[0]
	const lookups = 1 << 16
	total := 0
	for period := 1; period <= 64; period++ {
		kept := make([]int, period)
		for i := range lookups {
			if !b.sampledOut(st) {
				kept[i%period]++
				total++
			}
			st.skipped.Add(1)
		}
		perPhase := lookups / period / sampleEvery
		for phase, k := range kept {
			require.InDelta(t, perPhase, k, float64(perPhase)/2+3,
				"period %d, phase %d: %d of %d lookups sampled", period, phase, k, lookups/period)
		}
	}
	all := 64 * lookups
	assert.InDelta(t, all/sampleEvery, total, float64(all)/sampleEvery/50, "%d of %d sampled", total, all)
}

// When the concurrent mode ends, every hit counts again at once, even if
// no write finds records to replay: the sampling flag used to stay set
// until the next replay, and golang-lru's victim (6) was kept.
func TestSamplingEndsWithTheConcurrentMode(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, evicted := lruOfThree(t)
	s := c.shards[0]
	s.mu.Lock()
	// The mode, for capacity ticks, with no evidence left to renew it
	// (as when the last evidenceReplays replays found no other stripe).
	s.lossyUntil = s.ticks + uint64(s.scale)
	require.True(t, s.lossy())
	until := s.lossyUntil
	s.mu.Unlock()
	require.True(t, s.sampling.Load())
	c.Set(4, 4)
	c.Set(5, 5)
	c.Set(6, 6) // capacity ticks: the mode is over
	s.mu.Lock()
	require.GreaterOrEqual(t, s.ticks, until, "the concurrent mode ended")
	s.mu.Unlock()
	assert.False(t, s.sampling.Load(), "readers stop sampling when the mode ends")
	*evicted = nil
	c.Get(4)
	c.Get(5)    // order, oldest first: 6, 4, 5
	c.Set(7, 7) // golang-lru evicts 6
	assert.Equal(t, []int{6}, *evicted)
}

// Every lookup is counted once in Stats, sampled or not, repeats included.
func TestSampledLookupsAreAllCounted(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		c := newTestCache(t, Config[int, int]{Capacity: 100, Shards: 1, Admission: admission, CleanupInterval: -1})
		for k := range 50 {
			c.Set(k, k)
		}
		forceSampling(c.shards[0])
		var hits, misses uint64
		for i := range 1001 {
			k := (i * 7) % 100
			for range 1 + i%3 {
				if _, ok := c.Get(k); ok {
					hits++
				} else {
					misses++
				}
			}
		}
		st := c.Stats()
		assert.Equal(t, hits, st.Hits)
		assert.Equal(t, misses, st.Misses)
	})
}
