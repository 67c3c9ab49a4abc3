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

// In the concurrent mode a write neither replays other readers' records
// nor reads their stripes' counts for evidence: the code before read
// every dirty stripe's counts (lines other CPUs write) inside the lock
// on each write, and shifted the evidence, 11 % of a 75/25 mix's CPU
// time. Here writes (on stripe 0's P) leave stripe 1's records, the
// counts last seen and the evidence exactly as they were.
func TestWritesInTheConcurrentModeLeaveTheStripesAlone(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const capacity = 256
	c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, CleanupInterval: -1})
	for k := range capacity {
		c.Set(k, k)
	}
	s := c.shards[0]
	forceConcurrent(s)
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
// nearFront ticks is counted and not recorded (a replay would leave it
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
	c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, CleanupInterval: -1})
	for k := range capacity {
		c.Set(k, k)
	}
	s := c.shards[0]
	forceConcurrent(s)
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

// A shard smaller than sampleMinEntries records every hit in the
// concurrent mode (except on entries near the front), so hot keys of a
// small, fast-churning cache stay: 4 hot keys read at random, with one
// new key inserted per read, in a 64-entry LRU. Sampled, they were
// evicted 1 036 times in 20 000 reads (406 once writes replayed their
// own stripe); an exact LRU evicts them 3 times.
func TestSmallShardKeepsItsHotKeysInTheConcurrentMode(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const capacity, hot, reads = 64, 4, 20000
	evicted := 0
	c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, CleanupInterval: -1,
		OnEvict: func(k, _ int, _ EvictionReason) {
			if k < hot {
				evicted++
			}
		}})
	for k := range capacity {
		c.Set(k, k)
	}
	s := c.shards[0]
	require.False(t, s.samples, "a %d-entry shard samples", capacity)
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
	assert.LessOrEqual(t, evicted, 8, "hot keys evicted from a %d-entry cache", capacity)
}
