package breaker

import "time"

// window counts recent outcomes for the rate conditions. It is guarded by the
// breaker's mutex.
type window interface {
	add(now time.Time, failed, slow bool)
	totals(now time.Time) (calls, failures, slow int)
	reset()
}

// countWindow holds the last len(ring) outcomes.
type countWindow struct {
	ring            []uint8 // bit 0: failed, bit 1: slow
	next, n         int
	failures, slows int
}

const (
	markFailed = 1 << iota
	markSlow
)

func newCountWindow(size int) *countWindow { return &countWindow{ring: make([]uint8, size)} }

func (w *countWindow) add(_ time.Time, failed, slow bool) {
	if w.n == len(w.ring) { // evict the oldest, which sits where the next one goes
		old := w.ring[w.next]
		w.failures -= int(old & markFailed)
		w.slows -= int(old&markSlow) >> 1
	} else {
		w.n++
	}
	var m uint8
	if failed {
		m |= markFailed
		w.failures++
	}
	if slow {
		m |= markSlow
		w.slows++
	}
	w.ring[w.next] = m
	w.next = (w.next + 1) % len(w.ring)
}

func (w *countWindow) totals(time.Time) (int, int, int) { return w.n, w.failures, w.slows }

func (w *countWindow) reset() {
	clear(w.ring)
	w.next, w.n, w.failures, w.slows = 0, 0, 0, 0
}

// timeWindow holds the outcomes of the last duration in timeBuckets buckets.
type timeWindow struct {
	width   int64 // nanoseconds per bucket
	buckets [timeBuckets]bucket
}

const timeBuckets = 10

type bucket struct {
	epoch                  int64 // index of the bucket's interval since the Unix epoch
	calls, failures, slows int
}

func newTimeWindow(d time.Duration) *timeWindow { return &timeWindow{width: int64(d) / timeBuckets} }

func (w *timeWindow) add(now time.Time, failed, slow bool) {
	epoch := now.UnixNano() / w.width
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
}

func (w *timeWindow) totals(now time.Time) (calls, failures, slows int) {
	epoch := now.UnixNano() / w.width
	for _, b := range w.buckets {
		if b.epoch > epoch-timeBuckets && b.epoch <= epoch {
			calls += b.calls
			failures += b.failures
			slows += b.slows
		}
	}
	return calls, failures, slows
}

func (w *timeWindow) reset() { w.buckets = [timeBuckets]bucket{} }
