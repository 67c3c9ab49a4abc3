package cache

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of what the concurrent mode spares: writes that look at no
// stripe, and records of entries already near the front. Each runs on
// one P and one shard, so stripe 0 is the test goroutine's and stripe 1
// is written by hand (readOnStripe1) as another goroutine's would be.

// fullConcurrentShard returns a one-shard cache filled with keys 0 to
// capacity-1 (0 the oldest) and its shard, forced into the concurrent
// mode.
func fullConcurrentShard(t *testing.T, capacity int) (*Cache[int, int], *shard[int, int]) {
	c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, CleanupInterval: -1})
	for k := range capacity {
		c.Set(k, k)
	}
	forceConcurrent(c.shards[0])
	return c, c.shards[0]
}

// In the concurrent mode a write neither replays other readers' records
// nor reads their stripes' counts for evidence: the code before read
// every dirty stripe's counts (lines other CPUs write) inside the lock
// on each write, and shifted the evidence, 11 % of a 75/25 mix's CPU
// time. Here writes (on stripe 0's P) leave stripe 1's records, the
// counts last seen and the evidence exactly as they were.
func TestWritesInTheConcurrentModeLeaveTheStripesAlone(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const capacity = 256
	c, s := fullConcurrentShard(t, capacity)
	st := &s.reads.stripes[1]
	for k := 0; st.tail.Load() == st.head.Load(); k++ { // until a record is kept
		require.Less(t, k, capacity, "no lookup of stripe 1 was recorded")
		readOnStripe1(s, s.index.get(k, hashKey(c.seed, k)))
	}
	s.mu.Lock()
	head, seen, evidence := st.head.Load(), s.seen[1], s.evidence
	s.mu.Unlock()
	for k := capacity; k < 2*capacity; k++ {
		require.NoError(t, c.Set(k, k))
		require.NoError(t, c.Set(k-capacity/2, k)) // a stored key too
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, head, st.head.Load(), "a write replayed stripe 1's records")
	assert.Equal(t, seen, s.seen[1], "a write read stripe 1's counts")
	assert.Equal(t, evidence, s.evidence, "a write changed the evidence of concurrent use")
	assert.True(t, s.lossy(), "the test ran in the concurrent mode")
}

// In the concurrent mode a hit on an entry that went to the front within
// front.near ticks is counted and not recorded (a replay would leave it
// where it is), and one far from the front is still recorded, then
// promoted: the reader's test must not stop entries from moving up.
func TestConcurrentHitsNearTheFrontAreCountedNotRecorded(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // a real Get records in stripe 0
	const capacity, reads = 1024, 800
	c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, CleanupInterval: -1})
	for k := range capacity {
		c.Set(k, k) // key capacity-1 is the newest, key 0 the oldest
	}
	s := c.shards[0]
	forceConcurrent(s)
	st := &s.reads.stripes[0]
	tail, hits := st.tail.Load(), c.Stats().Hits
	for range reads {
		_, ok := c.Get(capacity - 1)
		require.True(t, ok)
	}
	assert.Equal(t, tail, st.tail.Load(), "a hit on the newest entry was recorded")
	assert.Equal(t, hits+reads, c.Stats().Hits, "every hit counted")

	for range reads {
		_, ok := c.Get(0)
		require.True(t, ok)
	}
	assert.Greater(t, st.tail.Load(), tail, "hits on the oldest entry were never recorded")
	s.mu.Lock()
	s.drainAll()
	oldest := s.window.oldest().key
	s.mu.Unlock()
	assert.NotEqual(t, 0, oldest, "the oldest entry, read %d times, was not promoted", reads)
}

// In the concurrent mode a write replays its own P's stripe, so that a
// goroutine's hits reach the lists before its next write: they waited
// for the stripe to fill (16 records, about 128 lookups sampled), and a
// small cache with one insertion per read had evicted its hot keys
// before then.
func TestWriteInTheConcurrentModeReplaysItsOwnStripe(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the test's P is stripe 0's
	const capacity = 256
	c, s := fullConcurrentShard(t, capacity)
	st := &s.reads.stripes[0]
	_, ok := c.Get(0) // the oldest entry: far from the front, recorded
	require.True(t, ok)
	require.Equal(t, st.head.Load()+1, st.tail.Load(), "the hit on the oldest entry was not recorded")
	require.NoError(t, c.Set(capacity, capacity))
	assert.Equal(t, st.tail.Load(), st.head.Load(), "the write left its own stripe's record")
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.NotEqual(t, 0, s.window.oldest().key, "key 0, read before the write, was evicted by it")
}

// A shard of fewer than sampleMinEntries entries records every hit in
// the concurrent mode (except on entries near the front), so hot keys of
// a small, fast-churning cache stay: 4 hot keys read at random, with one
// new key inserted per read, in a 64-entry LRU. Sampled, they were
// evicted 1 036 times in 20 000 reads (406 once writes replayed their
// own stripe); an exact LRU evicts them 3 times. The same with weights
// (64 entries of weight 1 024): the threshold and the near-front distance
// count entries, not weight (a review found both taken from the weight
// capacity: every entry counted as near the front, 1 250 evictions).
func TestSmallShardKeepsItsHotKeysInTheConcurrentMode(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, weight := range []uint32{0, 1024} {
		const entries, hot, reads = 64, 4, 20000
		evicted := 0
		cfg := Config[int, int]{Capacity: entries, Shards: 1, CleanupInterval: -1,
			OnEvict: func(k, _ int, _ EvictionReason) {
				if k < hot {
					evicted++
				}
			}}
		if weight > 0 {
			cfg.Capacity = entries * int(weight)
			cfg.Weigher = func(int, int) uint32 { return weight }
		}
		c := newTestCache(t, cfg)
		for k := range entries {
			c.Set(k, k)
		}
		s := c.shards[0]
		require.False(t, s.front.samples.Load(), "weight %d: a %d-entry shard samples", weight, entries)
		require.Equal(t, uint64(entries/16), s.front.near, "weight %d: near the front is 1/16 of the entries", weight)
		forceConcurrent(s)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range reads {
			k := rng.IntN(hot)
			if _, ok := c.Get(k); !ok {
				c.Set(k, k)
			}
			c.Set(1000+i, i)
		}
		require.True(t, s.sampling.Load(), "the test ran in the concurrent mode")
		assert.LessOrEqual(t, evicted, 8, "weight %d: hot keys evicted from a %d-entry cache", weight, entries)
	}
}

// A shard of sampleMinEntries entries or more samples in the concurrent
// mode: of many hits on an entry far from the front, about one in
// sampleEvery is recorded, not all (nor none).
func TestLargeShardSamplesInTheConcurrentMode(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const entries, reads = 2 * sampleMinEntries, 4000
	c := newTestCache(t, Config[int, int]{Capacity: entries, Shards: 1, CleanupInterval: -1})
	for k := range entries {
		c.Set(k, k)
	}
	s := c.shards[0]
	require.True(t, s.front.samples.Load(), "a %d-entry shard does not sample", entries)
	forceConcurrent(s)
	st := &s.reads.stripes[0]
	recorded := uint64(0)
	for k := range reads { // each key once: all far from the front, none replayed yet
		before := st.tail.Load()
		_, ok := c.Get(k)
		require.True(t, ok)
		recorded += st.tail.Load() - before
	}
	assert.InDelta(t, reads/sampleEvery, recorded, reads/sampleEvery/3, "%d of %d hits recorded", recorded, reads)
}

// The publication arithmetic behind the near-front bound: whatever the
// entries and however far the published ticks lag, an entry a reader
// takes for near went to the front within front.near ticks.
func TestNearFrontBoundHoldsBetweenPublications(t *testing.T) {
	for _, entries := range []int{0, 15, 16, 100, 1000} {
		var f frontTicks
		f.publish(0, entries, entries, sampleMinEntries)
		near := f.near
		require.Equal(t, uint64(max(1, entries/16)), near)
		takenNear := 0
		for now := uint64(1); now < 20*near+100; now++ {
			f.publish(now, entries, entries, sampleMinEntries)
			for stamp := now - min(now, 2*near+2); stamp <= now; stamp++ {
				if f.nearFront(stamp) {
					require.Less(t, now-stamp, near, "entries %d: stamp %d taken for near at tick %d", entries, stamp, now)
					takenNear++
				}
			}
		}
		require.Positive(t, takenNear, "entries %d: nothing was near the front", entries)
	}
}
