package cache

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValueKinds(t *testing.T) {
	type pair struct{ _, _ int32 }
	type holder struct{ _ *int }
	assert.Equal(t, wordValue, kindOf[uint64]())
	assert.Equal(t, wordValue, kindOf[int]())
	assert.Equal(t, wordValue, kindOf[float64]())
	assert.Equal(t, pointerValue, kindOf[*int]())
	assert.Equal(t, pointerValue, kindOf[map[string]int]())
	assert.Equal(t, pointerValue, kindOf[func()]())
	assert.Equal(t, boxedValue, kindOf[string]())
	assert.Equal(t, boxedValue, kindOf[[]byte]())
	assert.Equal(t, boxedValue, kindOf[any]())
	assert.Equal(t, boxedValue, kindOf[int32]())
	assert.Equal(t, boxedValue, kindOf[pair]())   // alignment 4
	assert.Equal(t, boxedValue, kindOf[holder]()) // a pointer, but not of a kind checked
}

// TestWriteOfAStoredKeyKeepsItsNode: a word-sized value replaces the
// stored one in its node, without allocating; a value of another kind
// gets a new node.
func TestWriteOfAStoredKeyKeepsItsNode(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		words := newTestCache(t, Config[uint64, uint64]{Admission: admission, TTL: time.Hour})
		require.NoError(t, words.Set(1, 10))
		s, h := words.shardFor(1)
		before := s.index.get(1, h)
		require.NoError(t, words.Set(1, 11))
		assert.Same(t, before, s.index.get(1, h), "replaced in place")
		v, ok := words.Get(1)
		assert.True(t, ok)
		assert.Equal(t, uint64(11), v)
		if !raceEnabled {
			assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = words.Set(1, 12) }), "uint64 value")
		}

		pointers := newTestCache(t, Config[int, *string]{Admission: admission})
		a, b := "a", "b"
		require.NoError(t, pointers.Set(1, &a))
		require.NoError(t, pointers.Set(1, &b))
		p, ok := pointers.Get(1)
		require.True(t, ok)
		assert.Same(t, &b, p)
		if !raceEnabled {
			assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = pointers.Set(1, &a) }), "pointer value")
		}

		strs := newTestCache(t, Config[int, string]{Admission: admission})
		require.NoError(t, strs.Set(1, "a"))
		s2, h2 := strs.shardFor(1)
		first := s2.index.get(1, h2)
		require.NoError(t, strs.Set(1, "b"))
		assert.NotSame(t, first, s2.index.get(1, h2), "a string gets a new node")
		got, _ := strs.Get(1)
		assert.Equal(t, "b", got)
	})
}

// TestShorterLifetimeIsNotWrittenInPlace: a lock-free reader may pair the
// old expiry with the new value, so a write that expires sooner than the
// stored entry takes a new node, and its value is not served past its
// own expiry.
func TestShorterLifetimeIsNotWrittenInPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[int, int]{CleanupInterval: -1})
		require.NoError(t, c.SetWithTTL(1, 1, time.Hour))
		s, h := c.shardFor(1)
		first := s.index.get(1, h)
		require.NoError(t, c.SetWithTTL(1, 2, 2*time.Hour))
		assert.Same(t, first, s.index.get(1, h), "a longer lifetime is written in place")
		require.NoError(t, c.SetWithTTL(1, 3, time.Millisecond))
		assert.NotSame(t, first, s.index.get(1, h), "a shorter one takes a new node")
		v, ok := c.Get(1)
		assert.True(t, ok)
		assert.Equal(t, 3, v)
		time.Sleep(time.Millisecond)
		_, ok = c.Get(1)
		assert.False(t, ok, "not served at its expiry")
		require.NoError(t, c.SetWithTTL(2, 1, 0))
		require.NoError(t, c.SetWithTTL(2, 2, time.Hour))
		time.Sleep(time.Hour)
		_, ok = c.Get(2)
		assert.False(t, ok, "a write with a TTL over one without expires")
	})
}

// TestReadersSeeWholeValuesWrittenInPlace: lock-free readers and writers
// of the same keys; every value read is one some writer stored for that
// key (run with -race: the value is loaded and stored atomically).
func TestReadersSeeWholeValuesWrittenInPlace(t *testing.T) {
	type record struct{ key, version int }
	c := newTestCache(t, Config[int, *record]{Capacity: 64, Shards: 1, TTL: time.Hour})
	const keys, rounds = 8, 2000
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range rounds {
				k := (i + w) % keys
				_ = c.Set(k, &record{key: k, version: i})
			}
		})
	}
	bad := make(chan string, 1)
	for range 2 {
		wg.Go(func() {
			for i := range rounds {
				k := i % keys
				if r, ok := c.Get(k); ok && (r == nil || r.key != k) {
					select {
					case bad <- "wrong record":
					default:
					}
				}
			}
		})
	}
	wg.Wait()
	close(bad)
	assert.Empty(t, <-bad)
}
