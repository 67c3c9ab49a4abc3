package cache

import (
	"hash/maphash"
	"math/bits"
	"reflect"
	"unsafe"
)

// keySeed is a cache's secret hash seed for keys of type K (the type
// parameter keeps a seed made for one key type from hashing another): every key's hash (its shard, its
// index slot, its sketch counters and ghost entries) is computed with it,
// so nobody outside the process can choose keys that collide.
//
// Keys that are one integer (int, uint and their sized forms of 4 or 8
// bytes, uintptr) are hashed as Go's maps hash them on CPUs without AES
// instructions (internal/runtime/maps, runtime_hash64.go): the key XORed
// with one secret word times the key XORed with another, the 128-bit
// product folded to 64 bits, then multiplied by a constant and folded
// again; other keys by hash/maphash. For a uint64 key that costs 2.4 ns
// where maphash's generic path costs 5.5 (a call through the type's hash
// function), on every lookup and write (docs/BENCHMARKS.md).
type keySeed[K comparable] struct {
	seed maphash.Seed
	// words are the secrets of the integer hash, drawn from seed.
	words [2]uint64
	// width is the size in bytes of an integer key type (4 or 8), or 0
	// for the others, which maphash hashes.
	width uintptr
}

// newKeySeed draws a fresh secret for keys of type K.
func newKeySeed[K comparable]() keySeed[K] {
	s := keySeed[K]{seed: maphash.MakeSeed()}
	s.words[0] = maphash.Comparable(s.seed, uint64(0))
	s.words[1] = maphash.Comparable(s.seed, uint64(1))
	switch t := reflect.TypeFor[K](); t.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if t.Size() == 4 || t.Size() == 8 {
			s.width = t.Size()
		}
	}
	return s
}

// hashKey hashes key with the cache's secret.
func hashKey[K comparable](s keySeed[K], key K) uint64 {
	var v uint64
	switch s.width {
	case 8:
		v = *(*uint64)(unsafe.Pointer(&key))
	case 4:
		v = uint64(*(*uint32)(unsafe.Pointer(&key)))
	default:
		return maphash.Comparable(s.seed, key)
	}
	// Both factors of the first product depend on the secret, so a key's
	// product is unknown without it; the second mixes the length in, as
	// Go's does (m5 is its constant).
	return mix(hashM5^uint64(s.width), mix(v^s.words[1], v^s.words[0]))
}

// hashM5 is the last of the constants of Go's fallback hash.
const hashM5 = 0x1d8e4e27c47d124f

// mix is the 128-bit product of a and b folded to 64 bits.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
