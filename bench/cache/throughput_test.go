package cachebench

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/keel-go/keel/bench/harness"
)

// Workload sizes. The defaults keep one iteration cheap (CI runs every
// benchmark once); KEEL_BENCH_CACHE_CAPACITY scales them up.
const (
	defaultCapacity = 100_000
	streamLen       = 1 << 16 // keys each goroutine cycles through
	zipfExponent    = 1.01
)

// workload is a key stream shared by every contender in one run.
type workload struct {
	capacity int
	keys     []uint64
}

// newWorkload draws the scrambled Zipf stream over keySpace keys.
func newWorkload(b *testing.B, keySpaceFactor int) workload {
	capacity := envInt(b, "KEEL_BENCH_CACHE_CAPACITY", defaultCapacity)
	keys, err := harness.ScrambledZipf(streamLen, zipfExponent, uint64(capacity*keySpaceFactor), 42)
	if err != nil {
		b.Fatal(err)
	}
	return workload{capacity: capacity, keys: keys}
}

// BenchmarkCacheGetParallel: every goroutine reads Zipf-distributed keys
// from a cache that holds them all (hits only).
func BenchmarkCacheGetParallel(b *testing.B) { benchmarkGetParallel(b, 1) }

// BenchmarkCacheGetParallel8x is BenchmarkCacheGetParallel with eight
// goroutines per CPU, as in a server with many requests in flight: a
// goroutine descheduled while it holds a lock then stalls the others.
func BenchmarkCacheGetParallel8x(b *testing.B) { benchmarkGetParallel(b, 8) }

func benchmarkGetParallel(b *testing.B, goroutinesPerCPU int) {
	w := newWorkload(b, 1)
	for _, c := range throughputContenders {
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(goroutinesPerCPU)
			cache := c.new(b, w.capacity)
			defer cache.Close()
			for _, k := range w.keys {
				cache.Set(k, k)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(streamLen)
				for pb.Next() {
					k := w.keys[i&(streamLen-1)]
					if v, ok := cache.Get(k); ok && v != k {
						b.Errorf("%s: got %d for key %d", c.name, v, k)
					}
					i++
				}
			})
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkCacheGetSetParallel: 75 % reads, 25 % writes, on Zipf keys over
// a key space ten times the capacity (so there are misses and evictions).
func BenchmarkCacheGetSetParallel(b *testing.B) {
	w := newWorkload(b, 10)
	for _, c := range throughputContenders {
		b.Run(c.name, func(b *testing.B) {
			cache := c.new(b, w.capacity)
			defer cache.Close()
			for _, k := range w.keys {
				cache.Set(k, k)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			defer reportCPU(b, cpu)
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(streamLen)
				for pb.Next() {
					k := w.keys[i&(streamLen-1)]
					if i&3 == 0 {
						cache.Set(k, k)
					} else {
						cache.Get(k)
					}
					i++
				}
			})
		})
	}
}

// reportCPU reports the process CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	if used := processCPU() - start; used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkCacheGetHit: one goroutine, one hot key: the cost of a hit and
// its allocations (Keel: 0 allocs/op). Its CPU time per operation is
// reported too: on a shared machine the wall time of one goroutine is
// mostly how long it waited for a CPU.
func BenchmarkCacheGetHit(b *testing.B) {
	for _, c := range throughputContenders {
		b.Run(c.name, func(b *testing.B) {
			cache := c.new(b, 1000)
			defer cache.Close()
			cache.Set(42, 42)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if _, ok := cache.Get(42); !ok {
					b.Fatal("miss")
				}
			}
			reportCPU(b, cpu)
		})
	}
}
