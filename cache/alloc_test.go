package cache

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetHitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	modes(t, func(t *testing.T, admission bool) {
		ints := newTestCache(t, Config[uint64, int]{Admission: admission})
		ints.Set(42, 1)
		strs := newTestCache(t, Config[string, []byte]{Admission: admission})
		key := strconv.Itoa(12345)
		strs.Set(key, []byte("v"))
		type compound struct {
			tenant string
			id     int64
		}
		structs := newTestCache(t, Config[compound, int]{Admission: admission})
		structs.Set(compound{"acme", 7}, 1)

		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			_, ok := ints.Get(42)
			require.True(t, ok)
		}), "uint64 key")
		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			_, ok := strs.Get(key)
			require.True(t, ok)
		}), "string key")
		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			_, ok := structs.Get(compound{"acme", 7})
			require.True(t, ok)
		}), "struct key")
	})
}

// TestHitsThatPromoteDoNotAllocate: with Admission, the replays of hits
// move entries between the W-TinyLFU lists (probation to protected, and
// protected's oldest back to probation). The lists are linked through the
// nodes, so that allocates nothing (golang-lru's lists allocated an
// element per move: 1 alloc per Get in BenchmarkGet/admission=true).
func TestHitsThatPromoteDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	const n = 1000
	c := newTestCache(t, Config[int, int]{Capacity: n, Shards: 1, Admission: true, CleanupInterval: -1})
	for k := range n {
		c.Set(k, k)
	}
	s := c.shards[0]
	s.mu.Lock()
	protectedBefore := s.protected.Len()
	s.mu.Unlock()
	i := 0
	allocs := testing.AllocsPerRun(20*n, func() {
		_, ok := c.Get(i % n)
		require.True(t, ok)
		i++
	})
	s.mu.Lock()
	s.drainAll()
	protectedAfter := s.protected.Len()
	s.mu.Unlock()
	require.Greater(t, protectedAfter, protectedBefore, "the hits promoted entries to protected")
	assert.Zero(t, allocs)
}
