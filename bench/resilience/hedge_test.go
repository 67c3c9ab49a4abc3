package resilience

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fsbudget "github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"

	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/retry"
)

var errBackend = errors.New("backend failed")

// backend simulates a dependency with a long tail: an attempt takes
// fast..2×fast, except 1 in 50 that takes 50 times as long. Which attempts are
// slow is a fixed pseudo-random sequence (a hash of the attempt's number),
// the same for every contender. With failing set, every attempt fails after
// its latency.
type backend struct {
	fast     time.Duration
	failing  bool
	attempts atomic.Int64
}

func (be *backend) call(ctx context.Context) (int, error) {
	h := splitmix64(uint64(be.attempts.Add(1)))
	d := be.fast + time.Duration(h%1000)*be.fast/1000
	if (h>>32)%50 == 0 {
		d *= 50
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if be.failing {
		return 0, errBackend
	}
	return 1, nil
}

// splitmix64 is a fixed pseudo-random permutation of the attempt numbers.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hedgeDelay is above every fast attempt (at most 2 ms) and far below a slow
// one (50 ms and more): about the 98th percentile of this backend.
const hedgeDelay = 3 * time.Millisecond

type hedgeContender struct {
	name string
	make func(b *testing.B) func(ctx context.Context, fn func(context.Context) (int, error)) (int, error)
}

func keelHedge(cfg hedge.Config, withBudget bool) func(*testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
	return func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		if withBudget {
			budget, err := retry.NewBudget(retry.BudgetConfig{}) // 10 tokens, 0.1 per success: the defaults
			if err != nil {
				b.Fatal(err)
			}
			cfg.Budget = budget
		}
		p, err := hedge.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return hedge.Do(ctx, p, fn)
		}
	}
}

func failsafeHedge(p hedgepolicy.HedgePolicy[int]) func(*testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
	return func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		exec := failsafe.With[int](p)
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return exec.WithContext(ctx).GetWithExecution(func(e failsafe.Execution[int]) (int, error) { return fn(e.Context()) })
		}
	}
}

func direct(*testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
	return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) { return fn(ctx) }
}

var tailContenders = []hedgeContender{
	{"none", direct},
	{"keel-fixed", keelHedge(hedge.Config{Delay: hedgeDelay}, true)},
	{"keel-p95", keelHedge(hedge.Config{Percentile: 0.95, Delay: hedgeDelay}, true)},
	{"failsafe-fixed", failsafeHedge(hedgepolicy.NewWithDelay[int](hedgeDelay))},
	{"failsafe-p95", failsafeHedge(hedgepolicy.NewWithDelayQuantile[int](0.95, 1000, 100))},
}

var failingContenders = []hedgeContender{
	{"keel-fixed", keelHedge(hedge.Config{Delay: hedgeDelay}, true)},
	{"keel-fixed-nobudget", keelHedge(hedge.Config{Delay: hedgeDelay}, false)},
	{"failsafe-fixed", failsafeHedge(hedgepolicy.NewWithDelay[int](hedgeDelay))},
	{"failsafe-fixed-budget", failsafeHedge(hedgepolicy.NewBuilderWithDelay[int](hedgeDelay).WithBudget(fsbudget.New()).Build())},
}

// runCalls makes b.N calls from 16 goroutines per CPU and reports the
// latency percentiles and the extra load: attempts per call beyond one,
// counting every attempt that reached the backend, cancelled hedges
// included (an attempt is counted when it starts, before its latency).
// Losing attempts may still be starting or running when the last call
// returns (a hedge policy does not wait for them); the count is read only
// once every goroutine the calls started has ended, so that none is missed.
func runCalls(b *testing.B, c hedgeContender, be *backend) {
	do := c.make(b)
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	baseline := runtime.NumGoroutine()
	b.SetParallelism(16)
	b.ResetTimer()
	stopCPU := reportCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			start := time.Now()
			_, _ = do(ctx, be.call)
			latencies[next.Add(1)-1] = time.Since(start)
		}
	})
	b.StopTimer()
	stopCPU()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > baseline; {
		if time.Now().After(deadline) {
			b.Fatalf("%d goroutines still running 10s after the last call", runtime.NumGoroutine()-baseline)
		}
		time.Sleep(time.Millisecond)
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		return float64(latencies[min(int(q*float64(len(latencies))), len(latencies)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(0.999), "p99.9-ms")
	b.ReportMetric(100*(float64(be.attempts.Load())/float64(b.N)-1), "extra-load-%")
}

// BenchmarkHedgeLongTail: 2% of attempts are 50× slower. Run it with
// -benchtime=5000x or more so that p99 has samples behind it.
func BenchmarkHedgeLongTail(b *testing.B) {
	for _, c := range tailContenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			runCalls(b, c, &backend{fast: time.Millisecond})
		})
	}
}

// BenchmarkHedgeFailingBackend: every attempt fails after 10-20 ms, longer
// than the hedge delay, so every call is hedged unless something stops it.
// extra-load-% is what hedging adds to the load of a failing dependency.
func BenchmarkHedgeFailingBackend(b *testing.B) {
	for _, c := range failingContenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			runCalls(b, c, &backend{fast: 10 * time.Millisecond, failing: true})
		})
	}
}

// BenchmarkHedgeOverhead is the cost of a hedge policy around a call that
// answers at once (before any hedge is due): goroutine, channel, context and
// timer per call, against a direct call.
func BenchmarkHedgeOverhead(b *testing.B) {
	for _, c := range []hedgeContender{
		{"direct", direct},
		{"keel", keelHedge(hedge.Config{Delay: time.Second}, true)},
		{"failsafe", failsafeHedge(hedgepolicy.NewWithDelay[int](time.Second))},
	} {
		b.Run("impl="+c.name, func(b *testing.B) {
			do := c.make(b)
			ctx := context.Background()
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := do(ctx, succeed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
