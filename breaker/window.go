package breaker

import (
	"sync"
	"sync/atomic"
	"time"
)

// window counts the outcomes of recent closed-state calls for the rate
// conditions. add records one outcome and returns the totals it leaves.
//
// A breaker makes a new window each time it closes, tagged with that
// generation, so a window never needs resetting and a late outcome from an
// earlier generation lands in a window nobody reads any more.
type window interface {
	add(now time.Time, failed, slow bool) (calls, failures, slows int)
	totals(now time.Time) (calls, failures, slows int)
}

// generationWindow is the window of one closed generation.
type generationWindow struct {
	gen uint32
	window
}

// countWindow holds the last len(ring) outcomes, lock-free: each call claims
// the next slot with one atomic increment and swaps its mark in; the running
// totals move by the difference between the new mark and the one it evicted.
// Totals read while other calls are mid-update may be off by those calls,
// never more, and settle as soon as they finish.
type countWindow struct {
	next     atomic.Uint64
	failures atomic.Int64
	slows    atomic.Int64
	ring     []atomic.Uint32 // 0: success (or empty), markFailed | markSlow
	// stride spreads consecutive calls over the ring (call i uses slot
	// i*stride mod size), so that calls finishing at the same time on different
	// cores write different cache lines. It is coprime with the size, so call
	// i+size still evicts call i.
	stride uint64
}

const (
	markFailed = 1 << iota
	markSlow
)

func newCountWindow(size int) *countWindow {
	w := &countWindow{ring: make([]atomic.Uint32, size), stride: 1}
	if size > 32 {
		for s := uint64(17); s < uint64(size); s++ { // 17 slots of 4 bytes: over a 64-byte line apart
			if gcd(s, uint64(size)) == 1 {
				w.stride = s
				break
			}
		}
	}
	return w
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (w *countWindow) add(_ time.Time, failed, slow bool) (int, int, int) {
	size := uint64(len(w.ring))
	if !failed && !slow {
		// A full window of successes is unchanged by one more success (it
		// evicts a success), and so is its future: every slot is alike. Skipping
		// the write keeps the healthy path read-only, so goroutines on many
		// cores do not fight over the window's cache lines.
		if n := w.next.Load(); n >= size && w.failures.Load() == 0 && w.slows.Load() == 0 {
			return int(size), 0, 0
		}
	}
	var mark uint32
	if failed {
		mark |= markFailed
	}
	if slow {
		mark |= markSlow
	}
	i := w.next.Add(1) - 1
	slot := &w.ring[(i%size)*w.stride%size]
	old := mark
	if slot.Load() != mark { // the common all-success case writes nothing here
		old = slot.Swap(mark)
	}
	failures, slows := w.failures.Load(), w.slows.Load()
	if d := int64(mark&markFailed) - int64(old&markFailed); d != 0 {
		failures = w.failures.Add(d)
	}
	if d := int64(mark&markSlow>>1) - int64(old&markSlow>>1); d != 0 {
		slows = w.slows.Add(d)
	}
	return int(min(i+1, size)), int(max(failures, 0)), int(max(slows, 0))
}

func (w *countWindow) totals(time.Time) (int, int, int) {
	return int(min(w.next.Load(), uint64(len(w.ring)))), int(max(w.failures.Load(), 0)), int(max(w.slows.Load(), 0))
}

// timeWindow holds the outcomes of the last duration in timeBuckets buckets,
// under its own mutex (a time window needs the clock on every call anyway).
type timeWindow struct {
	width   int64 // nanoseconds per bucket
	mu      sync.Mutex
	buckets [timeBuckets]bucket
}

const timeBuckets = 10

type bucket struct {
	epoch                  int64 // index of the bucket's interval since the Unix epoch
	calls, failures, slows int
}

func newTimeWindow(d time.Duration) *timeWindow { return &timeWindow{width: int64(d) / timeBuckets} }

func (w *timeWindow) add(now time.Time, failed, slow bool) (int, int, int) {
	epoch := now.UnixNano() / w.width
	w.mu.Lock()
	defer w.mu.Unlock()
	b := &w.buckets[uint64(epoch)%timeBuckets] // unsigned: never a negative index
	if b.epoch != epoch {
		*b = bucket{epoch: epoch}
	}
	b.calls++
	if failed {
		b.failures++
	}
	if slow {
		b.slows++
	}
	return w.sum(epoch)
}

func (w *timeWindow) totals(now time.Time) (int, int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sum(now.UnixNano() / w.width)
}

// sum adds up the buckets of the last timeBuckets intervals. Called with mu held.
func (w *timeWindow) sum(epoch int64) (calls, failures, slows int) {
	for _, b := range w.buckets {
		if b.epoch > epoch-timeBuckets && b.epoch <= epoch {
			calls += b.calls
			failures += b.failures
			slows += b.slows
		}
	}
	return calls, failures, slows
}
