package cache

import "sync/atomic"

// readBufferSize is the number of access records a shard holds between
// drains (a power of two). Small: it only has to absorb the reads that
// arrive while another goroutine holds the shard's write lock.
const readBufferSize = 16

// readBuffer is a shard's bounded, lossy log of read hits, in the manner
// of Caffeine's and otter's read buffers. Get records a hit here under the
// shard's read lock instead of moving the entry to the front of its list,
// which needs the write lock; whoever next takes the write lock replays
// the records in order (drain). When the buffer is full and the write
// lock is busy the record is dropped: recency is then slightly
// approximate, never wrong about what is stored.
//
// Writers claim slot tail with a CAS and publish it with the slot's ready
// flag; the one drainer (holding the write lock) consumes slots in order
// up to the first unpublished one and advances head. A writer claims a
// slot only when tail-head < size, i.e. after the drainer released it, so
// a slot's key is never written and read at once.
type readBuffer[K comparable] struct {
	head atomic.Uint64
	_    [56]byte // head is written by the drainer, tail by readers
	tail atomic.Uint64
	// hits counts the shard's hits. It shares tail's cache line: a hit
	// writes that line anyway, so counting it costs no second transfer.
	hits  atomic.Uint64
	_     [48]byte
	slots [readBufferSize]readSlot[K]
	_     [64]byte // the next shard's fields start on another line
}

type readSlot[K comparable] struct {
	ready atomic.Uint32
	hash  uint64
	key   K
}

// record appends an access; it reports false when the buffer is full.
func (b *readBuffer[K]) record(key K, h uint64) bool {
	for {
		t := b.tail.Load()
		if t-b.head.Load() >= readBufferSize {
			return false
		}
		if b.tail.CompareAndSwap(t, t+1) {
			sl := &b.slots[t&(readBufferSize-1)]
			sl.key, sl.hash = key, h
			sl.ready.Store(1)
			return true
		}
	}
}

// take removes and returns the oldest published record. Only one
// goroutine may take at a time (the shard's write lock holder).
func (b *readBuffer[K]) take() (K, uint64, bool) {
	var zero K
	h := b.head.Load()
	if h == b.tail.Load() {
		return zero, 0, false
	}
	sl := &b.slots[h&(readBufferSize-1)]
	if sl.ready.Load() == 0 {
		return zero, 0, false // claimed but not yet written: the next drain takes it
	}
	key, hash := sl.key, sl.hash
	sl.key = zero // do not keep a removed key's memory alive
	sl.ready.Store(0)
	b.head.Store(h + 1)
	return key, hash, true
}
