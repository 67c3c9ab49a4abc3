package ratelimit

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/keel-go/keel/bench/harness"
	"github.com/keel-go/keel/ratelimit"
)

// keyedAllower is what both in-process contenders offer.
type keyedAllower interface{ Allow(key string) bool }

// syncMapLimiter is the common hand-written alternative: a sync.Map of
// x/time/rate limiters, with no bound and no expiry.
type syncMapLimiter struct {
	m     sync.Map
	limit rate.Limit
	burst int
}

func (s *syncMapLimiter) Allow(key string) bool {
	v, ok := s.m.Load(key)
	if !ok {
		v, _ = s.m.LoadOrStore(key, rate.NewLimiter(s.limit, s.burst))
	}
	return v.(*rate.Limiter).Allow()
}

func (s *syncMapLimiter) Len() int {
	n := 0
	s.m.Range(func(any, any) bool { n++; return true })
	return n
}

func newContenders(b *testing.B, maxKeys int) []struct {
	name string
	l    keyedAllower
	len  func() int
} {
	keel, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 1_000_000_000, Period: time.Second, MaxKeys: maxKeys})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = keel.Close() })
	sm := &syncMapLimiter{limit: 1_000_000_000, burst: 1_000_000_000}
	return []struct {
		name string
		l    keyedAllower
		len  func() int
	}{
		{"keel", keel, keel.Len},
		{"syncmap-xrate", sm, sm.Len},
	}
}

// BenchmarkKeyedAllow takes from per-key buckets on a Zipf stream over
// 10,000 keys, all already tracked (the steady state of a per-API-key limit).
// Sub-benchmarks are impl=<contender>/<serial|parallel>, so that
// interleave.sh can run the contenders in turn, round after round, from one
// binary.
func BenchmarkKeyedAllow(b *testing.B) {
	const keySpace = 10_000
	ids, err := harness.ScrambledZipf(1<<16, 1.1, keySpace, 42)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "api-key-" + strconv.FormatUint(id, 10)
	}
	for _, c := range newContenders(b, 2*keySpace) {
		b.Run("impl="+c.name, func(b *testing.B) {
			for _, k := range keys {
				c.l.Allow(k)
			}
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				i := 0
				for b.Loop() {
					c.l.Allow(keys[i&(1<<16-1)])
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						c.l.Allow(keys[i&(1<<16-1)])
						i++
					}
				})
			})
		})
	}
	// What one clock read costs on this machine right now: the peer reads
	// the wall and monotonic clocks (time.Now) once per call, Keel the
	// monotonic clock only (time.Since of a monotonic origin).
	b.Run("impl=clock-now", func(b *testing.B) {
		var t time.Time
		defer reportCPU(b)()
		for b.Loop() {
			t = time.Now()
		}
		runtime.KeepAlive(t)
	})
	b.Run("impl=clock-since", func(b *testing.B) {
		origin := time.Now()
		var d time.Duration
		defer reportCPU(b)()
		for b.Loop() {
			d = time.Since(origin)
		}
		runtime.KeepAlive(d)
	})
}

// BenchmarkKeyedDistinctKeys feeds b.N distinct keys (use
// -benchtime=2000000x) to each contender and reports the keys it still holds
// and the heap they take after a GC. Keel is bounded at 100,000 keys.
func BenchmarkKeyedDistinctKeys(b *testing.B) {
	for _, name := range []string{"keel", "syncmap-xrate"} {
		b.Run(name, func(b *testing.B) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c := newContenders(b, 100_000)[map[string]int{"keel": 0, "syncmap-xrate": 1}[name]]
			buf := make([]byte, 0, 32)
			i := 0
			for b.Loop() {
				buf = strconv.AppendInt(append(buf[:0], "client-"...), int64(i), 10)
				c.l.Allow(string(buf))
				i++
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(c.len()), "keys-held")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MiB")
			runtime.KeepAlive(c.l)
		})
	}
}

// reportCPU starts measuring the process's CPU time; the function it returns
// reports it per operation as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
