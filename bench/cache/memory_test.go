package cachebench

import (
	"runtime"
	"testing"
)

// BenchmarkCacheMemoryPerEntry fills each cache with the same number of
// uint64 → uint64 entries (default 100 000, KEEL_BENCH_CACHE_ENTRIES) and
// reports the live heap it added per entry held (bytes/entry), after a GC. The
// time per op is the fill, not a figure of interest.
func BenchmarkCacheMemoryPerEntry(b *testing.B) {
	entries := envInt(b, "KEEL_BENCH_CACHE_ENTRIES", 100_000)
	for _, c := range memoryContenders {
		b.Run(c.name, func(b *testing.B) {
			var perEntry float64
			for b.Loop() {
				before := liveHeap()
				cache := c.new(b, entries)
				for k := range uint64(entries) {
					cache.Set(k, k)
				}
				after := liveHeap()
				held := cache.Len()
				if held < entries*95/100 {
					b.Fatalf("%s holds %d of %d entries", c.name, held, entries)
				}
				// Per entry actually held: a sharded cache starts evicting
				// slightly before it is full.
				perEntry = float64(after-before) / float64(held)
				runtime.KeepAlive(cache)
				cache.Close()
			}
			b.ReportMetric(perEntry, "bytes/entry")
		})
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
