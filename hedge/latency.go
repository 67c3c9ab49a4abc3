package hedge

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// estimator keeps the latencies of the last len(ring) successful calls and a
// percentile of them, recomputed every `every` samples. It is lock-free:
// recording is one atomic increment and one atomic store, reading the
// percentile one atomic load. The recomputation (a copy and a sort of the
// window: about 20 µs for 1000 samples) is done by the one goroutine that
// wins a compare-and-swap, so that it never runs twice at once and no caller
// waits for another's.
//
// A sample that lands while the window is being copied may be seen in its
// old or new value: the percentile is of a window that is at most one sample
// off, which an estimate can afford, and which a lock on every call cannot.
type estimator struct {
	ring       []atomic.Int64 // nanoseconds + 1 (0: never written); slot i%len(ring) holds sample i
	next       atomic.Uint64  // samples recorded so far
	value      atomic.Int64   // the last percentile computed, in ns; 0 before minSamples
	computing  atomic.Bool
	scratch    []int64 // owned by the goroutine that holds computing
	percentile float64
	minSamples uint64
	every      uint64
}

func newEstimator(window, minSamples int, percentile float64) *estimator {
	return &estimator{
		ring:       make([]atomic.Int64, window),
		scratch:    make([]int64, 0, window),
		percentile: percentile,
		minSamples: uint64(minSamples),
		every:      uint64(max(window/16, 1)),
	}
}

// add records one latency and, every `every` samples once minSamples have
// been seen, recomputes the percentile.
func (e *estimator) add(d time.Duration) {
	n := e.next.Add(1)
	e.ring[(n-1)%uint64(len(e.ring))].Store(max(int64(d), 0) + 1)
	if n < e.minSamples || (n-e.minSamples)%e.every != 0 {
		return
	}
	if !e.computing.CompareAndSwap(false, true) {
		return // another goroutine is recomputing; the next turn will include this sample
	}
	defer e.computing.Store(false)
	e.scratch = e.scratch[:0]
	for i := range min(n, uint64(len(e.ring))) {
		// A slot another goroutine has numbered but not yet written is
		// left out: read as a latency of 0, it dragged a low percentile
		// down to 0 while the window was filling.
		if v := e.ring[i].Load(); v > 0 {
			e.scratch = append(e.scratch, v-1)
		}
	}
	size := len(e.scratch)
	if size == 0 {
		return
	}
	slices.Sort(e.scratch)
	// The nearest-rank percentile: the smallest sample with at least
	// percentile of the samples at or below it.
	rank := int(math.Ceil(e.percentile*float64(size))) - 1
	e.value.Store(e.scratch[min(max(rank, 0), size-1)])
}

// current returns the percentile, or 0 before minSamples samples.
func (e *estimator) current() time.Duration { return time.Duration(e.value.Load()) }

// samples returns how many latencies have been recorded.
func (e *estimator) samples() uint64 { return e.next.Load() }
