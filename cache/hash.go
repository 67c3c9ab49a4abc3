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
// bytes, uintptr) are hashed by two rounds of a 64 × 64 → 128-bit multiply
// folded to 64 bits, with a secret word XORed in before each, as otter
// does, and as Go's own maps hash on CPUs without AES instructions; other
// keys by hash/maphash. For a uint64 key the multiply costs about 1 ns
// where maphash's generic path costs about 5 (a call through the type's
// hash function), on every lookup and write (docs/BENCHMARKS.md).
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
	// The multipliers are odd constants with well-mixed bits (otter's);
	// the secrets enter before each multiplication, so an input's
	// product is unknown without them.
	hi, lo := bits.Mul64(v^s.words[0], 0x2d358dccaa6c78a5)
	hi, lo = bits.Mul64(hi^lo^s.words[1], 0x8bb84b93962eacc9)
	return hi ^ lo
}
