package cache

import (
	"reflect"
	"sync/atomic"
	"time"
	"unsafe"
)

// A Set of a key that is stored would otherwise allocate a new node and
// swap it into the index and the list (readers hold nodes without a lock,
// so a node's value cannot simply be overwritten): an allocation, two
// neighbours' links written (cache misses both) and the garbage collector's
// work later. When the value is one machine word, a pointer or a number, a
// write can instead replace it in the node with one atomic store, which a
// lock-free reader loads atomically, as otter does for such values. Other
// values (strings, structs, interfaces) still get a new node.
type valueKind uint8

const (
	boxedValue   valueKind = iota // replaced with its node
	wordValue                     // 8 bytes without pointers: atomic uint64
	pointerValue                  // one pointer (pointer, map, chan, func): atomic pointer
)

// kindOf classifies V once, in New.
func kindOf[V any]() valueKind {
	t := reflect.TypeFor[V]()
	if t.Size() != 8 || t.Align() != 8 {
		return boxedValue // 64-bit atomics need 8-byte alignment
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func:
		return pointerValue
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr, reflect.Float64, reflect.Complex64:
		return wordValue
	}
	return boxedValue
}

// loadValue reads n's value for a lookup that holds no lock: atomically
// when values are replaced in place, since a write under the lock may be
// storing it. Readers holding the lock read n.value directly.
func loadValue[K comparable, V any](kind valueKind, n *node[K, V]) V {
	switch kind {
	case wordValue:
		u := atomic.LoadUint64((*uint64)(unsafe.Pointer(&n.value)))
		return *(*V)(unsafe.Pointer(&u))
	case pointerValue:
		p := atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&n.value)))
		return *(*V)(unsafe.Pointer(&p))
	}
	return n.value
}

// storeValue replaces n's value in place (kind is not boxedValue). Lock
// held.
func storeValue[K comparable, V any](kind valueKind, n *node[K, V], v V) {
	if kind == wordValue {
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&n.value)), *(*uint64)(unsafe.Pointer(&v)))
		return
	}
	atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(&n.value)), *(*unsafe.Pointer)(unsafe.Pointer(&v)))
}

// updateInPlace stores a write of value under key, living ttl from t, into
// the key's stored node old instead of a new node, if that is safe: the
// value is a word; old is a live, positive entry of the same weight; the
// lifetime is not read by lock-free lookups (no ExpireAfterAccess, no
// RefreshAhead); and the new expiry is not earlier than old's. A reader
// loads the expiry, then the value, and the write stores the value, then
// the expiry, so a reader sees the old expiry with the new value at worst,
// which is live no longer than the new expiry allows. It reports whether
// it did. Lock held.
func (c *Cache[K, V]) updateInPlace(s *shard[K, V], old *node[K, V], value V, ttl time.Duration, w uint32, t int64) bool {
	if c.valueKind == boxedValue || c.cfg.ExpireAfterAccess || c.cfg.RefreshAhead > 0 ||
		old.missing != nil || old.weight != w || old.seg == nil || !old.liveAt(t) {
		return false
	}
	life, expires := c.lifeFrom(ttl, t)
	if oldExp := old.expires.Load(); expires != 0 && (oldExp == 0 || expires < oldExp) {
		return false
	}
	storeValue(c.valueKind, old, value)
	old.life = life
	old.expires.Store(expires)
	s.touch(old)
	return true
}
