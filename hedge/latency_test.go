package hedge

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEstimatorNearestRank(t *testing.T) {
	e := newEstimator(100, 10, 0.95)
	for i := 1; i <= 9; i++ {
		e.add(time.Duration(i))
	}
	assert.Zero(t, e.current(), "nothing before MinSamples")
	e.add(10)
	assert.Equal(t, time.Duration(10), e.current(), "p95 of 1..10 is the 10th")
	for i := 11; i <= 100; i++ {
		e.add(time.Duration(i))
	}
	// Recomputed every 100/16 = 6 samples after the 10th: at 100 it is current.
	assert.Equal(t, time.Duration(95), e.current(), "p95 of 1..100")
}

// The window slides: old samples leave it.
func TestEstimatorWindowSlides(t *testing.T) {
	e := newEstimator(16, 16, 0.5)
	for range 16 {
		e.add(1000)
	}
	assert.Equal(t, time.Duration(1000), e.current())
	for range 16 {
		e.add(10)
	}
	assert.Equal(t, time.Duration(10), e.current(), "the window now holds only the new samples")
	assert.Equal(t, uint64(32), e.samples())
}

// Concurrent recording loses no slot and computes a value from the window.
func TestEstimatorConcurrent(t *testing.T) {
	e := newEstimator(1000, 100, 0.99)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				e.add(time.Duration(1 + (g*1000+i)%100))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, uint64(8000), e.samples())
	assert.InDelta(t, 99, int64(e.current()), 1, "p99 of a uniform 1..100")
}

// A slot numbered by a goroutine that has not written it yet (it took its
// number, then was descheduled) is not a latency of 0: it used to be read as
// one, and pulled a low percentile down to 0 while the window was filling.
func TestEstimatorSkipsUnwrittenSlots(t *testing.T) {
	e := newEstimator(100, 10, 0.1)
	e.next.Add(1) // a goroutine took slot 0 and has not stored its sample
	for range 9 {
		e.add(10 * time.Millisecond)
	}
	assert.Equal(t, 10*time.Millisecond, e.current(), "p10 of nine 10 ms samples")
}
