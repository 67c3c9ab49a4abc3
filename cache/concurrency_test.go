package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// stressLedger records what a stress test wrote, so that OnEvict can be
// checked entry by entry. Every stored value is unique (an id), so an
// eviction report names the entry it is about.
//
// Writes of a key are serialized by the key's lock: Set and Delete hold it
// exclusively, GetOrLoad shared (a load for a key starts only when the key
// is absent and ends, stored, before its GetOrLoad returns, so no Set or
// Delete overlaps it and every loaded value is stored). Then per key the
// last written value is known (last), and every value written leaves the
// cache in exactly one way: it is still there at the end, or it was
// reported once to OnEvict, or a Set replaced it in place (replacements
// are not evictions and are not reported). Only a value a Set came after
// can have been replaced (if it was still stored then), so that is the
// one case where "reported" cannot be required, only "at most once".
type stressLedger struct {
	keys     int
	locks    []sync.RWMutex
	last     []atomic.Int64 // per key: the last value written, 0 after a Delete
	nextID   atomic.Int64
	keyOf    []atomic.Int64 // per value id: its key + 1 once issued
	setAfter []atomic.Bool  // per value id: a Set of its key came after it

	mu      sync.Mutex
	reports map[int64][]evictionReport // per value id
	byKind  map[EvictionReason]int
}

type evictionReport struct {
	key    int
	reason EvictionReason
}

func newStressLedger(keys, maxIDs int) *stressLedger {
	return &stressLedger{
		keys:     keys,
		locks:    make([]sync.RWMutex, keys),
		last:     make([]atomic.Int64, keys),
		keyOf:    make([]atomic.Int64, maxIDs+1),
		setAfter: make([]atomic.Bool, maxIDs+1),
		reports:  map[int64][]evictionReport{},
		byKind:   map[EvictionReason]int{},
	}
}

// issue returns a new value for key.
func (l *stressLedger) issue(key int) int64 {
	id := l.nextID.Add(1)
	l.keyOf[id].Store(int64(key) + 1)
	return id
}

// validFor reports whether v was written (or loaded) for key.
func (l *stressLedger) validFor(key int, v int64) bool {
	return v > 0 && v < int64(len(l.keyOf)) && l.keyOf[v].Load() == int64(key)+1
}

func (l *stressLedger) onEvict(key int, v int64, reason EvictionReason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reports[v] = append(l.reports[v], evictionReport{key, reason})
	l.byKind[reason]++
}

// TestConcurrentMixedUseKeepsTheInvariants runs Get, Set, Delete and
// GetOrLoad from several goroutines on an overlapping key set larger than
// the capacity, with and without admission and TTL (expiring entries are
// also removed by lookups and by the cleanup sweep), and checks:
//   - Len and Stats().Stored never exceed Capacity (watched concurrently);
//   - every value Get or GetOrLoad returns for k was written for k;
//   - OnEvict is called at most once per entry, and exactly once for
//     every entry that left other than by being replaced by a Set (see
//     stressLedger); the entries still stored are exactly the last values
//     written whose entries did not leave; the reports match the Stats;
//   - Close leaves no goroutine behind.
func TestConcurrentMixedUseKeepsTheInvariants(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprintf("ttl=%v", ttl), func(t *testing.T) {
			modes(t, func(t *testing.T, admission bool) {
				testConcurrentMixedUse(t, admission, ttl)
			})
		})
	}
}

func testConcurrentMixedUse(t *testing.T, admission bool, ttl time.Duration) {
	const (
		capacity = 64
		keys     = 200
		workers  = 8
		ops      = 2000
	)
	ignore := goleak.IgnoreCurrent()
	l := newStressLedger(keys, workers*ops)
	cleanup := time.Duration(-1)
	if ttl > 0 {
		cleanup = ttl
	}
	c, err := New(Config[int, int64]{Capacity: capacity, Shards: 2, Admission: admission,
		TTL: ttl, CleanupInterval: cleanup, OnEvict: l.onEvict})
	require.NoError(t, err)

	var (
		stop      atomic.Bool
		maxLen    atomic.Int64
		maxStored atomic.Int64
		watchers  sync.WaitGroup
		bad       atomic.Int64
		badMu     sync.Mutex
		firstBad  string
	)
	fail := func(format string, args ...any) {
		if bad.Add(1) == 1 {
			badMu.Lock()
			firstBad = fmt.Sprintf(format, args...)
			badMu.Unlock()
		}
	}
	watchers.Go(func() {
		for !stop.Load() {
			n := int64(c.Len())
			if n > maxLen.Load() {
				maxLen.Store(n)
			}
			s := int64(c.Stats().Stored)
			if s > maxStored.Load() {
				maxStored.Store(s)
			}
			runtime.Gosched()
		}
	})

	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for range ops {
				// Overlapping keys, some hotter than others.
				k := rng.IntN(keys)
				if rng.IntN(2) == 0 {
					k = rng.IntN(keys / 8)
				}
				switch r := rng.IntN(10); {
				case r < 5:
					if v, ok := c.Get(k); ok && !l.validFor(k, v) {
						fail("Get(%d) = %d, never written for %d", k, v, k)
					}
				case r < 7:
					l.locks[k].Lock()
					v := l.issue(k)
					if prev := l.last[k].Load(); prev != 0 {
						l.setAfter[prev].Store(true)
					}
					l.last[k].Store(v)
					c.Set(k, v)
					l.locks[k].Unlock()
				case r < 8:
					l.locks[k].Lock()
					c.Delete(k)
					l.last[k].Store(0)
					l.locks[k].Unlock()
				default:
					l.locks[k].RLock()
					v, err := c.GetOrLoad(ctx, k, func(_ context.Context, key int) (int64, error) {
						v := l.issue(key)
						l.last[key].Store(v)
						return v, nil
					})
					l.locks[k].RUnlock()
					if err != nil || !l.validFor(k, v) {
						fail("GetOrLoad(%d) = %d, %v: never written for %d", k, v, err, k)
					}
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	watchers.Wait()
	require.NoError(t, c.Close()) // stops the sweep: nothing changes from here on
	assert.LessOrEqual(t, maxLen.Load(), int64(capacity), "Len never above Capacity")
	assert.LessOrEqual(t, maxStored.Load(), int64(capacity), "Stats().Stored never above Capacity")
	badMu.Lock()
	assert.Zero(t, bad.Load(), "lookups returned values never written for their key; first: %s", firstBad)
	badMu.Unlock()

	// What is stored now (expired entries included).
	stored := map[int]int64{}
	for _, s := range c.shards {
		s.mu.Lock()
		listed := 0
		for _, seg := range s.segments() {
			for _, k := range seg.Keys() {
				n := s.index.get(k, hashKey(s.seed, k))
				require.NotNil(t, n, "key %d is in a list but not in the index", k)
				_, dup := stored[k]
				assert.False(t, dup, "key %d stored twice", k)
				stored[k] = n.value
				listed++
			}
		}
		assert.Equal(t, listed, len(s.index.nodes()), "the index holds exactly the listed keys")
		s.mu.Unlock()
	}
	assert.LessOrEqual(t, len(stored), capacity)
	l.mu.Lock()
	reportedBefore := map[int64]bool{}
	for v := range l.reports {
		reportedBefore[v] = true
	}
	l.mu.Unlock()
	// The entries stored are exactly the last values written that were
	// not reported as gone.
	want := map[int]int64{}
	for k := range keys {
		if v := l.last[k].Load(); v != 0 && !reportedBefore[v] {
			want[k] = v
		}
	}
	assert.Equal(t, want, stored, "stored = last writes whose entries did not leave")
	if ttl == 0 {
		assert.Equal(t, len(want), c.Len())
	}

	// Purge reports every stored entry; then every value written has left.
	c.Purge()
	l.mu.Lock()
	defer l.mu.Unlock()
	issued := l.nextID.Load()
	missing, duplicated, misattributed, replaced := 0, 0, 0, 0
	for v := int64(1); v <= issued; v++ {
		rs := l.reports[v]
		for _, r := range rs {
			if !l.validFor(r.key, v) {
				if misattributed++; misattributed <= 3 {
					assert.Fail(t, "OnEvict with a value never written for the key", "value %d reported under key %d", v, r.key)
				}
			}
		}
		switch {
		case len(rs) > 1:
			if duplicated++; duplicated <= 3 {
				assert.Fail(t, "OnEvict called more than once for an entry", "value %d (key %d): %v", v, l.keyOf[v].Load()-1, rs)
			}
		case len(rs) == 0 && l.setAfter[v].Load():
			replaced++ // replaced in place by a Set
		case len(rs) == 0:
			if missing++; missing <= 3 {
				assert.Fail(t, "an entry left without OnEvict", "value %d (key %d)", v, l.keyOf[v].Load()-1)
			}
		}
	}
	assert.Zero(t, missing, "entries that left unreported")
	assert.Zero(t, duplicated, "entries reported more than once")
	assert.Zero(t, misattributed, "reports under the wrong key")
	for v := range l.reports {
		assert.True(t, v >= 1 && v <= issued, "reported value %d was never written", v)
	}
	st := c.Stats()
	assert.Equal(t, int(st.Evicted), l.byKind[Evicted], "Evicted reports match Stats")
	assert.Equal(t, int(st.Expired), l.byKind[Expired], "Expired reports match Stats")
	assert.Equal(t, int(st.Deleted), l.byKind[Deleted], "Deleted reports match Stats")
	// The workload did what it is for (with a TTL, how many entries
	// expire rather than fill the cache depends on the scheduling).
	if ttl == 0 {
		assert.Positive(t, l.byKind[Evicted], "the capacity was exceeded")
		assert.Positive(t, replaced, "some Sets replaced a stored entry")
	} else {
		assert.Positive(t, l.byKind[Evicted]+l.byKind[Expired], "entries expired or were evicted")
	}
	assert.Zero(t, c.Stats().Stored)

	goleak.VerifyNone(t, ignore)
}

// TestPurgeWhileReading: lookups run while another goroutine writes and
// purges. A lookup never reports a key that was never stored (the zero
// key included: the index's tombstones have the zero key), and returns
// only values written for its key.
func TestPurgeWhileReading(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		c := newTestCache(t, Config[int, int]{Capacity: 256, Shards: 1, Admission: admission, CleanupInterval: -1})
		var stop atomic.Bool
		var zeroHits, wrongValues atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for !stop.Load() {
					for range 32 {
						if _, ok := c.Get(0); ok {
							zeroHits.Add(1) // 0 is never stored
						}
					}
					for k := 1; k < 64; k++ {
						if v, ok := c.Get(k); ok && v != 10*k {
							wrongValues.Add(1)
						}
					}
					runtime.Gosched() // let the writer run on a small machine
				}
			})
		}
		for range 200 {
			for k := 1; k < 128; k++ {
				c.Set(k, 10*k)
			}
			for k := 1; k < 128; k += 2 {
				c.Delete(k) // tombstones
			}
			c.Purge()
		}
		stop.Store(true)
		wg.Wait()
		assert.Zero(t, zeroHits.Load(), "Get(0) hits, 0 never stored")
		assert.Zero(t, wrongValues.Load(), "values never written for their key")
	})
}
