package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byLength weighs a string value by its length.
func byLength(_ int, v string) uint32 { return uint32(len(v)) }

// storedWeight sums the weights of the entries in every list, checking
// each list's running sum against its nodes.
func storedWeight[K comparable, V any](t *testing.T, c *Cache[K, V]) int {
	t.Helper()
	total := 0
	for _, s := range c.shards {
		s.mu.Lock()
		for _, seg := range s.segments() {
			sum := 0
			for n := seg.root.next; n != &seg.root; n = n.next {
				sum += int(n.weight)
			}
			assert.Equal(t, sum, seg.Weight(), "a list's weight is the sum of its nodes'")
			total += sum
		}
		shardWeight := s.window.Weight()
		if s.sketch != nil {
			shardWeight += s.mainWeight()
		}
		assert.LessOrEqual(t, shardWeight, s.capacity, "a shard stays within its capacity")
		s.mu.Unlock()
	}
	return total
}

func TestWeigherBoundsTheTotalWeight(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		const capacity = 1000
		c := newTestCache(t, Config[int, string]{Capacity: capacity, Shards: 1, Admission: admission, Weigher: byLength})
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 20_000 {
			k := rng.IntN(400)
			v := string(make([]byte, rng.IntN(60)))
			require.NoError(t, c.Set(k, v))
			if got, ok := c.Get(rng.IntN(400)); ok {
				assert.LessOrEqual(t, len(got), 60)
			}
			if i%1000 == 0 {
				w := storedWeight(t, c)
				assert.LessOrEqual(t, w, capacity)
				assert.Equal(t, int64(w), c.Stats().Weight)
			}
		}
		st := c.Stats()
		assert.LessOrEqual(t, st.Weight, int64(capacity))
		assert.Greater(t, st.Weight, int64(capacity/2), "the cache fills up to its capacity")
		assert.Greater(t, st.Evicted, uint64(0))
	})
}

func TestTooHeavyEntryIsRefusedWithoutEmptyingTheCache(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		var mu sync.Mutex
		evicted := 0
		c := newTestCache(t, Config[int, string]{Capacity: 100, Shards: 1, Admission: admission, Weigher: byLength,
			OnEvict: func(int, string, EvictionReason) { mu.Lock(); evicted++; mu.Unlock() }})
		assert.Equal(t, 100, c.MaxWeight())
		for k := range 9 {
			require.NoError(t, c.Set(k, "0123456789"))
		}
		require.NoError(t, c.Set(99, "old"))

		err := c.Set(99, string(make([]byte, 101)))
		require.ErrorIs(t, err, ErrTooHeavy)
		assert.Contains(t, err.Error(), "weight 101, limit 100")
		_, ok := c.Get(99)
		assert.False(t, ok, "the refused value's key no longer serves its out-of-date value")
		for k := range 9 {
			_, ok := c.Get(k)
			assert.True(t, ok, "key %d stays: a refused entry evicts nothing", k)
		}
		mu.Lock()
		assert.Equal(t, 1, evicted, "only the refused key's out-of-date value left the cache, and OnEvict heard of it")
		mu.Unlock()

		// An entry of exactly the capacity is stored, evicting the rest.
		require.NoError(t, c.Set(100, string(make([]byte, 100))))
		assert.LessOrEqual(t, c.Stats().Weight, int64(100))

		// A loaded value that is too heavy goes to its caller, not the cache.
		v, err := c.GetOrLoad(context.Background(), 77, func(context.Context, int) (string, error) {
			return string(make([]byte, 500)), nil
		})
		require.NoError(t, err)
		assert.Len(t, v, 500)
		_, ok = c.Get(77)
		assert.False(t, ok)
		assert.Equal(t, uint64(2), c.Stats().Rejected)
	})
}

func TestMaxWeightIsTheShardShare(t *testing.T) {
	c := newTestCache(t, Config[int, string]{Capacity: 1003, Shards: 4, Weigher: byLength})
	assert.Equal(t, 250, c.MaxWeight())
	for k := range 64 { // every shard: its share is at least 250
		require.NoError(t, c.Set(k, string(make([]byte, 250))))
	}
	require.ErrorIs(t, c.Set(0, string(make([]byte, 252))), ErrTooHeavy, "no shard's share reaches 252")
	assert.LessOrEqual(t, c.Stats().Weight, int64(1003))
}

func TestZeroWeightCountsAsOne(t *testing.T) {
	c := newTestCache(t, Config[int, string]{Capacity: 10, Shards: 1, Weigher: func(int, string) uint32 { return 0 }})
	for k := range 50 {
		require.NoError(t, c.Set(k, ""))
	}
	assert.Equal(t, 10, c.Len(), "weightless entries cannot grow the cache past Capacity entries")
}

func TestWeightedUpdateMakesRoom(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		c := newTestCache(t, Config[int, string]{Capacity: 100, Shards: 1, Admission: admission, Weigher: byLength})
		for k := range 10 {
			require.NoError(t, c.Set(k, "0123456789"))
		}
		require.NoError(t, c.Set(3, string(make([]byte, 60))))
		assert.LessOrEqual(t, storedWeight(t, c), 100)
		v, ok := c.Get(3)
		assert.True(t, ok, "the updated entry stays; older ones make room")
		assert.Len(t, v, 60)
	})
}

func TestWeightedSketchGrowsWithTheEntries(t *testing.T) {
	c := newTestCache(t, Config[int, string]{Capacity: 1 << 30, Shards: 1, Admission: true, Weigher: byLength})
	s := c.shards[0]
	s.mu.Lock()
	first := len(s.sketch.table)
	s.mu.Unlock()
	assert.LessOrEqual(t, first, initialWeightedScale, "a byte capacity does not size the sketch")
	for k := range 5000 {
		require.NoError(t, c.Set(k, "v"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.GreaterOrEqual(t, len(s.sketch.table), 5000)
	assert.Equal(t, 10*s.scale, s.climber.sampleSize)
}

func TestWeigherUnderConcurrentWrites(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		const capacity = 2000
		c := newTestCache(t, Config[int, string]{Capacity: capacity, Shards: 2, Admission: admission, Weigher: byLength})
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 9))
				for range 5000 {
					k := rng.IntN(500)
					if rng.IntN(4) == 0 {
						err := c.Set(k, string(make([]byte, rng.IntN(1200))))
						if err != nil && !errors.Is(err, ErrTooHeavy) {
							t.Error(err)
						}
					} else {
						c.Get(k)
					}
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, storedWeight(t, c), capacity)
	})
}

func TestExpireAfterComputesEachEntrysLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type call struct {
			key string
			w   Write
		}
		var mu sync.Mutex
		var calls []call
		c := newTestCache(t, Config[string, time.Duration]{Capacity: 100, CleanupInterval: -1,
			ExpireAfter: func(k string, v time.Duration, w Write) time.Duration {
				mu.Lock()
				calls = append(calls, call{k, w})
				mu.Unlock()
				if k == "keep" && w.Update {
					return w.Remaining // an update keeps the first write's expiry
				}
				return v
			}})
		require.NoError(t, c.Set("short", time.Second))
		require.NoError(t, c.Set("long", time.Minute))
		require.NoError(t, c.Set("forever", 0))
		require.NoError(t, c.Set("past", -time.Second))
		_, ok := c.Get("past")
		assert.False(t, ok, "a negative lifetime is already expired")
		require.NoError(t, c.Set("keep", 10*time.Second))
		time.Sleep(4 * time.Second)
		require.NoError(t, c.Set("keep", time.Hour))

		_, ok = c.Get("short")
		assert.False(t, ok, "1 s entry expired after 4 s")
		_, ok = c.Get("long")
		assert.True(t, ok)
		_, ok = c.Get("keep")
		assert.True(t, ok)

		time.Sleep(6 * time.Second) // 10 s after keep's first write
		_, ok = c.Get("keep")
		assert.False(t, ok, "the update kept the first write's expiry, not an hour")
		_, ok = c.Get("long")
		assert.True(t, ok)
		time.Sleep(time.Hour)
		_, ok = c.Get("long")
		assert.False(t, ok)
		_, ok = c.Get("forever")
		assert.True(t, ok, "a result <= 0 never expires")

		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, call{"short", Write{}}, calls[0], "a create is no update")
		assert.Equal(t, call{"keep", Write{Update: true, Remaining: 6 * time.Second}}, calls[5])
	})
}

func TestExpireAfterAppliesToLoadsAndSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, time.Duration]{Capacity: 100, CleanupInterval: -1, ExpireAfterAccess: true,
			ExpireAfter: func(_ string, v time.Duration, _ Write) time.Duration { return v }})
		loads := 0
		load := func(_ context.Context, k string) (time.Duration, error) {
			loads++
			if k == "a" {
				return 2 * time.Second, nil
			}
			return 20 * time.Second, nil
		}
		ctx := context.Background()
		for range 5 { // each hit slides "a" by its own 2 s
			_, err := c.GetOrLoad(ctx, "a", load)
			require.NoError(t, err)
			time.Sleep(time.Second)
		}
		assert.Equal(t, 1, loads)
		time.Sleep(2 * time.Second)
		_, err := c.GetOrLoad(ctx, "a", load)
		require.NoError(t, err)
		assert.Equal(t, 2, loads, "2 s after its last hit, a expired")
	})
}

func TestExpireAfterWithRefreshAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, int]{Capacity: 10, CleanupInterval: -1, RefreshAhead: 0.5,
			ExpireAfter: func(string, int, Write) time.Duration { return 10 * time.Second }})
		n := 0
		load := func(context.Context, string) (int, error) { n++; return n, nil }
		ctx := context.Background()
		v, _ := c.GetOrLoad(ctx, "k", load)
		assert.Equal(t, 1, v)
		time.Sleep(6 * time.Second)
		v, _ = c.GetOrLoad(ctx, "k", load)
		assert.Equal(t, 1, v, "past the refresh point the current value is served")
		synctest.Wait()
		v, _ = c.GetOrLoad(ctx, "k", load)
		assert.Equal(t, 2, v, "and refreshed in the background")
	})
}
