package ratelimit_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/keel-go/keel/ratelimit"
)

// BenchmarkKeyedAllowHit measures Allow on keys already tracked: the hot
// path of a per-API-key limit. It must not allocate.
func BenchmarkKeyedAllowHit(b *testing.B) {
	k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 1_000_000_000, Period: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "api-key-" + strconv.Itoa(i)
		k.Allow(keys[i])
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if !k.Allow(keys[i&1023]) {
				b.Fatal("refused below the limit")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				k.Allow(keys[i&1023])
				i++
			}
		})
	})
}

// BenchmarkKeyedDistinctKeys feeds b.N distinct keys (run it with
// -benchtime=3000000x) into a limiter bounded at 100,000 keys and reports
// the keys tracked and the heap they hold once the run is over: memory stays
// bounded by MaxKeys however many keys are seen.
func BenchmarkKeyedDistinctKeys(b *testing.B) {
	const maxKeys = 100_000
	b.ReportAllocs()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 10, Period: time.Second, MaxKeys: maxKeys})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 32)
	i := 0
	for b.Loop() {
		buf = strconv.AppendInt(append(buf[:0], "client-"...), int64(i), 10)
		k.Allow(string(buf))
		i++
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(i), "keys-seen")
	b.ReportMetric(float64(k.Len()), "keys-tracked")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MiB")
	runtime.KeepAlive(k)
	_ = k.Close()
}
