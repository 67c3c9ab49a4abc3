package cache

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBufferIsBoundedLossyAndOrdered(t *testing.T) {
	var b readBuffer[string]
	for i := range readBufferSize {
		require.True(t, b.record(string(rune('a'+i)), uint64(i)), "slot %d", i)
	}
	assert.False(t, b.record("overflow", 99), "a full buffer drops the record")
	for i := range readBufferSize {
		k, h, ok := b.take()
		require.True(t, ok)
		assert.Equal(t, string(rune('a'+i)), k)
		assert.Equal(t, uint64(i), h)
	}
	_, _, ok := b.take()
	assert.False(t, ok, "empty after taking everything")
	assert.True(t, b.record("again", 1), "drained slots are reusable")
}

// Hits logged in the read buffer, more of them than it holds, must leave
// exactly the LRU order that applying each hit at once would: the entry
// evicted is the least recently read one.
func TestReadPathKeepsExactLRUOrder(t *testing.T) {
	var evicted []int
	c := newTestCache(t, Config[int, int]{
		Capacity: 4, Shards: 1,
		OnEvict: func(k, _ int, r EvictionReason) {
			if r == Evicted {
				evicted = append(evicted, k)
			}
		},
	})
	for k := range 4 {
		c.Set(k, k)
	}
	// 3 is read first, then 0, 1 and 2 many times each: 3 is the oldest.
	_, ok := c.Get(3)
	require.True(t, ok)
	for range 3 * readBufferSize {
		for _, k := range []int{0, 1, 2} {
			_, ok := c.Get(k)
			require.True(t, ok)
		}
	}
	c.Set(10, 10)
	// Now read 0 (only once, within the buffer) so that 1 is the oldest.
	_, ok = c.Get(0)
	require.True(t, ok)
	c.Set(11, 11)
	assert.Equal(t, []int{3, 1}, evicted)
	assert.Equal(t, uint64(1+9*readBufferSize+1), c.Stats().Hits)
}

// Readers, writers and deleters on one shard: capacity stays strict, hits
// and misses add up, and (under -race) the read buffer is race-free.
func TestReadPathConcurrentWithWriters(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		const capacity, keys, goroutines, ops = 64, 256, 6, 3000
		c := newTestCache(t, Config[int, int]{Capacity: capacity, Shards: 1, Admission: admission})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range ops {
					k := (i*7 + g*13) % keys
					switch {
					case g == 0 && i%3 == 0:
						c.Delete(k)
					case g <= 1:
						c.Set(k, k)
					default:
						if v, ok := c.Get(k % (keys / 4)); ok {
							assert.Equal(t, k%(keys/4), v)
						}
					}
					if i%500 == 0 {
						assert.LessOrEqual(t, c.Len(), capacity)
					}
				}
			})
		}
		wg.Wait()
		st := c.Stats()
		assert.LessOrEqual(t, st.Stored, capacity)
		assert.Equal(t, uint64((goroutines-2)*ops), st.Hits+st.Misses)
	})
}
