package cache

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// indexCounts counts a table's slots holding a key and those holding
// anything (keys and tombstones).
func indexCounts[K comparable, V any](x *index[K, V]) (keys, used int) {
	tab := x.cur.Load()
	for i := range tab.slots {
		switch n := tab.slots[i].node.Load(); {
		case n == nil:
		case n == x.tomb:
			used++
		default:
			keys++
			used++
		}
	}
	return keys, used
}

// testIndexAgainstModel drives an index with a random sequence of puts
// (new keys and replacements) and removes, in phases that grow it to
// hundreds of keys and shrink it back to a handful several times, and
// checks it against a Go map after every operation. keyOf(0) must be K's
// zero value, which is the tombstone's key too.
func testIndexAgainstModel[K comparable](t *testing.T, keyOf func(int) K) {
	const (
		keySpace = 3000
		cycles   = 3
	)
	var x index[K, int]
	x.init(newKeySeed[K]())
	hash := func(k K) uint64 { return hashKey(x.seed, k) }
	var zero K
	require.Equal(t, zero, keyOf(0), "keyOf(0) is the zero key")

	model := map[K]*node[K, int]{}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() K {
		if rng.IntN(8) == 0 {
			return zero // the zero key often, so tombstones lie on its probe path
		}
		return keyOf(rng.IntN(keySpace))
	}
	var (
		ops, grows, shrinks, zeroRemoves, zeroPuts int
		maxTomb                                    int
		tables                                     = map[*table[K, int]]bool{x.cur.Load(): true}
	)
	check := func(what string, k K) {
		t.Helper()
		ops++
		tab := x.cur.Load()
		require.Equal(t, len(model), x.live, "op %d (%s): live counts the stored keys", ops, what)
		require.LessOrEqual(t, x.used*4, len(tab.slots)*3, "op %d (%s): at most 3/4 of the slots used", ops, what)
		require.Zero(t, len(tab.slots)&(len(tab.slots)-1), "op %d: a power of two", ops)
		require.Equal(t, uint64(len(tab.slots)-1), tab.mask, "op %d", ops)
		require.Same(t, model[k], x.get(k, hash(k)), "op %d (%s): the key's node (nil if absent)", ops, what)
		n := x.get(zero, hash(zero))
		require.Same(t, model[zero], n, "op %d (%s): the zero key is found only when stored", ops, what)
		require.False(t, n != nil && n == x.tomb, "op %d: a lookup returned the tombstone", ops)
		if !tables[tab] {
			// Rebuilt: every slot is recounted, and every stored key found.
			tables[tab] = true
			keys, used := indexCounts(&x)
			require.Equal(t, x.live, keys, "op %d: keys in the new table", ops)
			require.Equal(t, x.used, used, "op %d: a rebuild drops the tombstones", ops)
			for mk, mn := range model {
				require.Same(t, mn, x.get(mk, hash(mk)), "op %d: key %v after a rebuild", ops, mk)
			}
		}
		if ops%97 == 0 || len(tab.slots) <= 64 {
			keys, used := indexCounts(&x)
			require.Equal(t, x.live, keys, "op %d: live matches the slots", ops)
			require.Equal(t, x.used, used, "op %d: used matches the slots", ops)
			maxTomb = max(maxTomb, used-keys)
		}
	}
	put := func(k K) {
		n := &node[K, int]{key: k, value: ops}
		if k == zero {
			zeroPuts++
		}
		before := len(x.cur.Load().slots)
		x.put(n, hash(k))
		model[k] = n
		if len(x.cur.Load().slots) > before {
			grows++
		}
		check("put", k)
	}
	remove := func(k K) {
		if _, ok := model[k]; ok && k == zero {
			zeroRemoves++
		}
		before := len(x.cur.Load().slots)
		x.remove(k, hash(k))
		delete(model, k)
		if len(x.cur.Load().slots) < before {
			shrinks++
		}
		check("remove", k)
	}
	randomStored := func() K {
		// Map iteration order is random enough to pick a stored key.
		for k := range model {
			return k
		}
		return zero
	}

	for range cycles {
		// Grow: mostly puts (new keys and replacements), some removes.
		for range 2500 {
			if rng.IntN(10) < 7 {
				put(pick())
			} else {
				remove(pick())
			}
		}
		require.Greater(t, len(model), 500, "the growth phase stored many keys")
		// Churn at a steady size: tombstones pile up between rebuilds.
		for range 2000 {
			if rng.IntN(2) == 0 {
				put(pick())
			} else {
				remove(randomStored())
			}
		}
		// Shrink: remove stored keys (and some absent ones) down to a few.
		for len(model) > 3 {
			switch r := rng.IntN(10); {
			case r == 0:
				put(pick())
			case r == 1:
				remove(pick())
			default:
				remove(randomStored())
			}
		}
	}
	assert.GreaterOrEqual(t, grows, 2*cycles, "the table grew by rebuilds")
	assert.GreaterOrEqual(t, shrinks, 2*cycles, "the table shrank by rebuilds")
	assert.Greater(t, maxTomb, 16, "tombstones accumulated between rebuilds")
	assert.Positive(t, zeroPuts, "the zero key was stored")
	assert.Positive(t, zeroRemoves, "the zero key was removed, leaving a tombstone")
}

func TestIndexMatchesAMapUint64Keys(t *testing.T) {
	testIndexAgainstModel(t, func(i int) uint64 { return uint64(i) })
}

func TestIndexMatchesAMapStringKeys(t *testing.T) {
	testIndexAgainstModel(t, func(i int) string {
		if i == 0 {
			return ""
		}
		return strconv.Itoa(i)
	})
}

func TestIndexZeroKeyIsNeverTheTombstone(t *testing.T) {
	// Deterministic: fill a table, remove everything but keep it from
	// shrinking, so that tombstones cover most of it; the zero key, absent,
	// must probe past them to the empty slot.
	var x index[uint64, int]
	x.init(newKeySeed[uint64]())
	h := func(k uint64) uint64 { return hashKey(x.seed, k) }
	for k := uint64(1); k <= 11; k++ { // 11 of 16 slots: no rebuild yet
		x.put(&node[uint64, int]{key: k}, h(k))
	}
	for k := uint64(1); k <= 11; k++ {
		x.remove(k, h(k))
	}
	require.Len(t, x.cur.Load().slots, minTableSize, "a minimal table never shrinks")
	keys, used := indexCounts(&x)
	require.Equal(t, 0, keys)
	require.Equal(t, 11, used, "11 tombstones")
	assert.Nil(t, x.get(0, h(0)), "the absent zero key is not the tombstone")
	zero := &node[uint64, int]{key: 0, value: 7}
	x.put(zero, h(0))
	assert.Same(t, zero, x.get(0, h(0)))
	x.remove(0, h(0))
	assert.Nil(t, x.get(0, h(0)))
	x.remove(0, h(0)) // removing it again removes nothing
	assert.Equal(t, 0, x.live)
}

// TestIndexConcurrentReadersDuringRebuilds has a writer (holding a mutex,
// as a shard's lock holder does) insert, replace and remove a churn set of
// keys, growing and shrinking the table through many rebuilds, while
// readers look keys up without any lock: a stable key, stored before and
// never removed, is always found with its own node; a churn key is
// either absent or found with a node of its own.
func TestIndexConcurrentReadersDuringRebuilds(t *testing.T) {
	const (
		stableKeys = 48
		churnKeys  = 1500
		rounds     = 12
		readers    = 4
	)
	var x index[uint64, uint64]
	x.init(newKeySeed[uint64]())
	var mu sync.Mutex
	h := func(k uint64) uint64 { return hashKey(x.seed, k) }
	// The stable keys are 0 (the tombstone's key) and 1..stableKeys-1; the
	// churn keys follow. A node's value is its key plus a version, times
	// a factor, so that a node found for the wrong key shows.
	const factor = 1 << 20
	stable := make([]*node[uint64, uint64], stableKeys)
	stableHash := make([]uint64, stableKeys)
	for k := range uint64(stableKeys) {
		stable[k] = &node[uint64, uint64]{key: k, value: k * factor}
		stableHash[k] = h(k)
		mu.Lock()
		x.put(stable[k], stableHash[k])
		mu.Unlock()
	}
	churnHash := make([]uint64, churnKeys)
	for i := range churnKeys {
		churnHash[i] = h(uint64(stableKeys + i))
	}

	var (
		done     atomic.Bool
		failures atomic.Int64
		lookups  atomic.Int64
		failMu   sync.Mutex
		first    string
	)
	fail := func(msg string) {
		if failures.Add(1) == 1 {
			failMu.Lock()
			first = msg
			failMu.Unlock()
		}
	}
	var ready, wg sync.WaitGroup
	for r := range readers {
		ready.Add(1)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 99))
			ready.Done()
			n := int64(0)
			for !done.Load() || n == 0 {
				for k := range uint64(stableKeys) {
					got := x.get(k, stableHash[k])
					if got != stable[k] {
						fail("stable key " + strconv.FormatUint(k, 10) + ": got " + describeNode(got))
					}
				}
				for range 16 {
					i := rng.IntN(churnKeys)
					k := uint64(stableKeys + i)
					got := x.get(k, churnHash[i])
					if got != nil && (got.key != k || got.value/factor != k) {
						fail("churn key " + strconv.FormatUint(k, 10) + ": got " + describeNode(got))
					}
				}
				n += stableKeys + 16
				runtime.Gosched() // let the writer run on a small machine
			}
			lookups.Add(n)
		})
	}
	ready.Wait()

	rebuilds := 0
	op := func(f func()) {
		mu.Lock()
		before := x.cur.Load()
		f()
		if x.cur.Load() != before {
			rebuilds++
		}
		mu.Unlock()
	}
	version := uint64(0)
	for range rounds {
		for i := range churnKeys {
			k := uint64(stableKeys + i)
			version++
			op(func() { x.put(&node[uint64, uint64]{key: k, value: k*factor + version%factor}, churnHash[i]) })
		}
		for i := 0; i < churnKeys; i += 2 { // replace half
			k := uint64(stableKeys + i)
			version++
			op(func() { x.put(&node[uint64, uint64]{key: k, value: k*factor + version%factor}, churnHash[i]) })
		}
		for i := range churnKeys {
			op(func() { x.remove(uint64(stableKeys+i), churnHash[i]) })
		}
	}
	done.Store(true)
	wg.Wait()

	failMu.Lock()
	defer failMu.Unlock()
	assert.Zero(t, failures.Load(), "first failure: %s", first)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, stableKeys, x.live, "only the stable keys are left")
	assert.GreaterOrEqual(t, rebuilds, 3*rounds, "the table was grown and shrunk by rebuilds")
	assert.Positive(t, lookups.Load())
	for k := range uint64(stableKeys) {
		assert.Same(t, stable[k], x.get(k, stableHash[k]))
	}
}

func describeNode[V any](n *node[uint64, V]) string {
	if n == nil {
		return "nil"
	}
	return "node for key " + strconv.FormatUint(n.key, 10)
}
