package cache

import (
	"fmt"
	"maps"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestCache builds a cache and closes it when t ends.
func newTestCache[K comparable, V any](t *testing.T, cfg Config[K, V]) *Cache[K, V] {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// modes runs a test with the admission filter off and on.
func modes(t *testing.T, fn func(t *testing.T, admission bool)) {
	for _, admission := range []bool{false, true} {
		t.Run(fmt.Sprintf("admission=%v", admission), func(t *testing.T) { fn(t, admission) })
	}
}

func TestGetSetDeleteLenPurgeAll(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		var mu sync.Mutex
		reasons := map[string]EvictionReason{}
		c := newTestCache(t, Config[string, int]{Capacity: 100, Admission: admission,
			OnEvict: func(k string, _ int, r EvictionReason) { mu.Lock(); reasons[k] = r; mu.Unlock() }})

		_, ok := c.Get("a")
		assert.False(t, ok)
		c.Set("a", 1)
		c.Set("b", 2)
		v, ok := c.Get("a")
		assert.True(t, ok)
		assert.Equal(t, 1, v)
		c.Set("a", 10)
		v, _ = c.Get("a")
		assert.Equal(t, 10, v, "Set overwrites")
		assert.Equal(t, 2, c.Len())
		assert.Equal(t, map[string]int{"a": 10, "b": 2}, maps.Collect(c.All()))

		assert.True(t, c.Delete("a"))
		assert.False(t, c.Delete("a"))
		_, ok = c.Get("a")
		assert.False(t, ok)
		assert.Equal(t, 1, c.Len())

		c.Purge()
		assert.Equal(t, 0, c.Len())
		mu.Lock()
		assert.Equal(t, map[string]EvictionReason{"a": Deleted, "b": Deleted}, reasons)
		mu.Unlock()

		st := c.Stats()
		assert.Equal(t, uint64(2), st.Hits)
		assert.Equal(t, uint64(2), st.Misses)
		assert.Equal(t, uint64(2), st.Deleted)
		assert.InDelta(t, 0.5, st.HitRatio(), 1e-9)
	})
}

func TestAllStopsWhenTheLoopBreaks(t *testing.T) {
	c := newTestCache(t, Config[int, int]{Capacity: 2000, Shards: 4})
	for i := range 1000 {
		c.Set(i, i)
	}
	n := 0
	for k, v := range c.All() {
		require.Equal(t, k, v)
		n++
		if n == 10 {
			break
		}
	}
	assert.Equal(t, 10, n)
}

func TestCapacityEvictsLeastRecentlyUsedWithoutAdmission(t *testing.T) {
	var evicted []int
	c := newTestCache(t, Config[int, int]{Capacity: 3, Shards: 1,
		OnEvict: func(k, _ int, r EvictionReason) {
			assert.Equal(t, Evicted, r)
			evicted = append(evicted, k)
		}})
	c.Set(1, 1)
	c.Set(2, 2)
	c.Set(3, 3)
	c.Get(1) // 2 is now the least recently used
	c.Set(4, 4)
	assert.Equal(t, []int{2}, evicted)
	_, ok := c.Get(2)
	assert.False(t, ok)
	for _, k := range []int{1, 3, 4} {
		_, ok := c.Get(k)
		assert.True(t, ok, "key %d", k)
	}
	assert.Equal(t, uint64(1), c.Stats().Evicted)
}

func TestCapacityIsNeverExceededUnderConcurrentWrites(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		const capacity = 1000
		c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 8, Admission: admission})
		var wg sync.WaitGroup
		stop := make(chan struct{})
		maxSeen := 0
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					maxSeen = max(maxSeen, c.Stats().Stored)
				}
			}
		})
		var writers sync.WaitGroup
		for w := range 8 {
			writers.Go(func() {
				for i := range 5000 {
					k := w*100_000 + i
					c.Set(k, k)
					c.Get(k - 1)
				}
			})
		}
		writers.Wait()
		close(stop)
		wg.Wait()
		assert.LessOrEqual(t, maxSeen, capacity)
		assert.Equal(t, capacity, c.Stats().Stored, "full, and not beyond")
		assert.Equal(t, capacity, c.Len())
	})
}

func TestOnEvictRunsWithoutLocksHeld(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		var c *Cache[int, int]
		calls := 0
		c = newTestCache(t, Config[int, int]{Capacity: 2, Shards: 1, Admission: admission,
			OnEvict: func(k, v int, _ EvictionReason) {
				calls++
				// Re-entering the cache would deadlock if a lock were held.
				_, _ = c.Get(k)
				c.Len()
			}})
		for i := range 10 {
			c.Set(i, i)
		}
		c.Delete(9)
		assert.Positive(t, calls)
	})
}

func TestTTLExpiresEntriesAfterWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var expired []string
		c := newTestCache(t, Config[string, string]{TTL: time.Minute, CleanupInterval: -1,
			OnEvict: func(k, _ string, r EvictionReason) {
				mu.Lock()
				defer mu.Unlock()
				assert.Equal(t, Expired, r)
				expired = append(expired, k)
			}})
		c.Set("k", "v")
		c.SetWithTTL("short", "v", time.Second)
		c.SetWithTTL("forever", "v", 0)

		time.Sleep(time.Second)
		_, ok := c.Get("short")
		assert.False(t, ok, "its own TTL passed")
		time.Sleep(59*time.Second - time.Nanosecond)
		_, ok = c.Get("k")
		assert.True(t, ok, "a nanosecond before the TTL")
		assert.Equal(t, 2, c.Len())
		time.Sleep(time.Nanosecond)
		_, ok = c.Get("k")
		assert.False(t, ok, "at the TTL")
		assert.Equal(t, 1, c.Len(), "only the entry without TTL is live")
		_, ok = c.Get("forever")
		assert.True(t, ok)
		mu.Lock()
		assert.Equal(t, []string{"short", "k"}, expired)
		mu.Unlock()
	})
}

func TestExpireAfterAccessSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, int]{TTL: 10 * time.Second, ExpireAfterAccess: true})
		c.Set("k", 1)
		for range 5 {
			time.Sleep(9 * time.Second)
			_, ok := c.Get("k")
			require.True(t, ok, "each access extends the life")
		}
		time.Sleep(10 * time.Second)
		_, ok := c.Get("k")
		assert.False(t, ok, "expires TTL after the last access")
	})
}

func TestTTLJitterShortensWithinTheFraction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[int, int]{TTL: 100 * time.Second, TTLJitter: 0.2, CleanupInterval: -1})
		for i := range 200 {
			c.Set(i, i)
		}
		time.Sleep(80*time.Second - time.Nanosecond)
		assert.Equal(t, 200, c.Len(), "no TTL is cut by 20% or more")
		time.Sleep(10 * time.Second)
		live := c.Len()
		assert.Greater(t, live, 0, "some keys outlive 90% of the TTL")
		assert.Less(t, live, 200, "some keys expired early: they do not all expire together")
		time.Sleep(10 * time.Second)
		assert.Equal(t, 0, c.Len(), "none outlives the TTL")
	})
}

func TestJanitorRemovesExpiredEntriesAndStopsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		expired := 0
		c, err := New(Config[int, int]{TTL: time.Second, CleanupInterval: 2 * time.Second,
			OnEvict: func(_, _ int, r EvictionReason) {
				mu.Lock()
				defer mu.Unlock()
				if r == Expired {
					expired++
				}
			}})
		require.NoError(t, err)
		for i := range 50 {
			c.Set(i, i)
		}
		assert.Equal(t, 50, c.Stats().Stored)
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 0, c.Stats().Stored, "swept without any read")
		mu.Lock()
		assert.Equal(t, 50, expired)
		mu.Unlock()
		assert.Equal(t, uint64(50), c.Stats().Expired)
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "idempotent")
	})
}

func TestAdmissionKeepsTheHotSetThroughAScan(t *testing.T) {
	// A hot set used again and again, then a long scan of keys used once:
	// plain LRU loses the hot set to the scan; TinyLFU keeps it.
	run := func(admission bool) float64 {
		c := newTestCache(t, Config[int, int]{Capacity: 1000, Shards: 1, Admission: admission})
		for range 20 {
			for k := range 500 {
				if _, ok := c.Get(k); !ok {
					c.Set(k, k)
				}
			}
		}
		for k := 1_000_000; k < 1_010_000; k++ {
			if _, ok := c.Get(k); !ok {
				c.Set(k, k)
			}
		}
		kept := 0
		for k := range 500 {
			if _, ok := c.Get(k); ok {
				kept++
			}
		}
		return float64(kept) / 500
	}
	assert.Less(t, run(false), 0.01, "LRU: the scan flushed the hot set")
	assert.Greater(t, run(true), 0.95, "TinyLFU: the hot set survived the scan")
}

func TestShardsSplitCapacityExactly(t *testing.T) {
	c := newTestCache(t, Config[int, int]{Capacity: 1001, Shards: 7})
	total := 0
	for _, s := range c.shards {
		total += s.capacity
		assert.InDelta(t, 143, s.capacity, 1)
	}
	assert.Equal(t, 1001, total)
}

func TestSketchEstimatesAndAges(t *testing.T) {
	s := newSketch(64)
	s.counting = true
	for range 5 {
		s.increment(42)
	}
	s.increment(7)
	assert.Equal(t, uint64(5), s.frequency(42))
	assert.Equal(t, uint64(1), s.frequency(7))
	assert.Equal(t, uint64(0), s.frequency(99))
	for range 40 {
		s.increment(42)
	}
	assert.Equal(t, uint64(15), s.frequency(42), "counters saturate at 15")
	s.halve()
	assert.Equal(t, uint64(7), s.frequency(42), "aging halves")
	s.reset()
	assert.Equal(t, uint64(0), s.frequency(42))
}
