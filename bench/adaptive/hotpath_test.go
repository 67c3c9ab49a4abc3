package adaptive

import (
	"context"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"

	"github.com/keel-go/keel/ratelimit/adaptive"
)

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per operation as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// hugeLimit is far above what the benchmark has in flight, so that every
// call is admitted and the path measured is acquire + release (with the
// latency sample, and a limit update whenever a window closes).
const hugeLimit = 1 << 20

// run measures op serially and with GOMAXPROCS goroutines.
func run(b *testing.B, op func()) {
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		done := reportCPU(b)
		for b.Loop() {
			op()
		}
		done()
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		done := reportCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				op()
			}
		})
		done()
	})
}

// BenchmarkAcquireRelease is the hot path: admit a call and release it,
// feeding its latency to the limit. Keel: Acquire + Permit.Release;
// failsafe-go: TryAcquirePermit + Permit.Record (its non-blocking path,
// which allocates a permit).
//
//	cd bench && sh adaptive/interleave.sh > ad.txt
func BenchmarkAcquireRelease(b *testing.B) {
	b.Run("impl=keel", func(b *testing.B) {
		l, err := adaptive.New(adaptive.Config{InitialLimit: hugeLimit, MaxLimit: hugeLimit})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		run(b, func() {
			p, err := l.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.Release()
		})
	})
	b.Run("impl=failsafe-go", func(b *testing.B) {
		l := adaptivelimiter.NewBuilder[any]().WithLimits(1, hugeLimit, hugeLimit).Build()
		run(b, func() {
			p, ok := l.TryAcquirePermit()
			if !ok {
				b.Fatal("refused")
			}
			p.Record()
		})
	})
}

// BenchmarkDo is the policy shape: Keel's Limiter.Do against failsafe-go's
// executor running the same function through its adaptive limiter.
func BenchmarkDo(b *testing.B) {
	fn := func(context.Context) error { return nil }
	b.Run("impl=keel", func(b *testing.B) {
		l, err := adaptive.New(adaptive.Config{InitialLimit: hugeLimit, MaxLimit: hugeLimit})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		run(b, func() {
			if err := l.Do(ctx, fn); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("impl=failsafe-go", func(b *testing.B) {
		ex := failsafe.With[any](adaptivelimiter.NewBuilder[any]().WithLimits(1, hugeLimit, hugeLimit).Build())
		run(b, func() {
			if err := ex.Run(func() error { return nil }); err != nil {
				b.Fatal(err)
			}
		})
	})
}
