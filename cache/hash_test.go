package cache

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Integer keys take the multiply hash; it must depend on the secret,
// agree for equal keys, and spread consecutive ids (the usual integer
// keys) evenly over the low bits that pick index slots.
func TestIntegerKeysHashBySecretAndSpreadEvenly(t *testing.T) {
	a, b := newKeySeed[uint64](), newKeySeed[uint64]()
	require.Equal(t, uintptr(8), a.width)
	differ := 0
	for k := range uint64(1000) {
		assert.Equal(t, hashKey(a, k), hashKey(a, k))
		if hashKey(a, k) != hashKey(b, k) {
			differ++
		}
	}
	assert.Equal(t, 1000, differ, "two caches' secrets gave equal hashes")

	// Each secret word, and the secret of 4-byte keys, changes the hash.
	for w := range 2 {
		c := a
		c.words[w] ^= 1 << 40
		same := 0
		for k := range uint64(1000) {
			if hashKey(a, k) == hashKey(c, k) {
				same++
			}
		}
		assert.Zero(t, same, "secret word %d left %d hashes unchanged", w, same)
	}
	x, y := newKeySeed[int32](), newKeySeed[int32]()
	for k := range int32(1000) {
		require.NotEqual(t, hashKey(x, k-500), hashKey(y, k-500), "4-byte key %d: two secrets, one hash", k-500)
	}

	// 2^16 consecutive ids into 2^10 slots by the low bits: 64 per slot
	// on average; a binomial count beyond 64 ± 8 standard deviations
	// (8 × 7.9) would mean the low bits are not mixed.
	const keys, slots = 1 << 16, 1 << 10
	var count [slots]int
	for k := range uint64(keys) {
		count[hashKey(a, k)&(slots-1)]++
	}
	for i, n := range count {
		require.InDelta(t, keys/slots, n, 64, "slot %d", i)
	}
	// ids with a stride of the slot count, which an unmixed hash would
	// pile into one slot
	count = [slots]int{}
	for k := range uint64(keys) {
		count[hashKey(a, k*slots)&(slots-1)]++
	}
	for i, n := range count {
		require.InDelta(t, keys/slots, n, 64, "slot %d, strided ids", i)
	}
	// and by the high bits, which pick the shard
	count = [slots]int{}
	for k := range uint64(keys) {
		count[hashKey(a, k)>>54]++
	}
	for i, n := range count {
		require.InDelta(t, keys/slots, n, 64, "high bits %d", i)
	}
}

// Which key types take which hash: 4- and 8-byte integers (named ones
// too) the multiply, everything else maphash, where equal keys stored
// apart (strings) must hash alike and floats must keep == (0 and -0).
func TestKeyTypesAndTheirHash(t *testing.T) {
	type customerID int64
	assert.Equal(t, uintptr(8), newKeySeed[customerID]().width)
	assert.Equal(t, unsafe.Sizeof(int(0)), newKeySeed[int]().width) // 4 on 32-bit platforms
	assert.Equal(t, uintptr(4), newKeySeed[int32]().width)
	assert.Equal(t, uintptr(4), newKeySeed[uint32]().width)
	for _, w := range []uintptr{newKeySeed[int16]().width, newKeySeed[float64]().width,
		newKeySeed[string]().width, newKeySeed[[2]int32]().width, newKeySeed[bool]().width} {
		assert.Zero(t, w)
	}

	i32 := newKeySeed[int32]()
	assert.NotEqual(t, hashKey(i32, -1), hashKey(i32, 1))
	s := newKeySeed[string]()
	one, other := strings.Repeat("k", 40), strings.Repeat("k", 20)+strings.Repeat("k", 20)
	assert.Equal(t, hashKey(s, one), hashKey(s, other))
	f := newKeySeed[float64]()
	negZero := 0.0
	negZero = -negZero
	assert.Equal(t, hashKey(f, 0.0), hashKey(f, negZero), "0 == -0, so their hashes must agree")

	c := newTestCache(t, Config[customerID, string]{Capacity: 100})
	require.NoError(t, c.Set(-7, "a"))
	v, ok := c.Get(-7)
	assert.True(t, ok)
	assert.Equal(t, "a", v)
}
