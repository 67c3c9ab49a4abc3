package resilience

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fscb "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

// succeed is the protected call: it does nothing and is not inlined, so that
// the benchmarks measure the libraries' overhead.
//
//go:noinline
func succeed(context.Context) (int, error) { return 1, nil }

// honour is a call that, as real I/O does, asks for its context's Done
// channel (which makes a timeout's context create it).
//
//go:noinline
func honour(ctx context.Context) (int, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	default:
		return 1, nil
	}
}

// The three policies, configured alike for every contender: 3 attempts, a
// breaker that opens after 5 consecutive failures, a 1-minute timeout.
func keelPolicies(b *testing.B) (*retry.Policy, *breaker.Breaker, *timeout.Policy) {
	r, err := retry.New(retry.Config{Name: "bench", MaxAttempts: 3})
	if err != nil {
		b.Fatal(err)
	}
	br, err := breaker.New(breaker.Config{Name: "bench", ConsecutiveFailures: 5})
	if err != nil {
		b.Fatal(err)
	}
	t, err := timeout.New(timeout.Config{Name: "bench", Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	return r, br, t
}

// contender makes one call through a library's three policies.
type contender struct {
	name string
	make func(b *testing.B) func(ctx context.Context, fn func(context.Context) (int, error)) (int, error)
}

var pipelineContenders = []contender{
	{"keel-pipeline", func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		r, br, t := keelPolicies(b)
		p, err := resilience.With(r, br, t)
		if err != nil {
			b.Fatal(err)
		}
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return resilience.Do(ctx, p, fn)
		}
	}},
	{"keel-nested", func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		r, br, t := keelPolicies(b)
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return retry.Do(ctx, r, func(ctx context.Context) (int, error) {
				return breaker.Do(ctx, br, func(ctx context.Context) (int, error) { return timeout.Do(ctx, t, fn) })
			})
		}
	}},
	{"keel-retry", func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		r, _, _ := keelPolicies(b)
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return retry.Do(ctx, r, fn)
		}
	}},
	{"keel-breaker", func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		_, br, _ := keelPolicies(b)
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return breaker.Do(ctx, br, fn)
		}
	}},
	{"keel-timeout", func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		_, _, t := keelPolicies(b)
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return timeout.Do(ctx, t, fn)
		}
	}},
	{"failsafe", func(b *testing.B) func(context.Context, func(context.Context) (int, error)) (int, error) {
		rp := retrypolicy.NewBuilder[int]().WithMaxAttempts(3).Build()
		cb := fscb.NewBuilder[int]().WithFailureThreshold(5).Build()
		to := fstimeout.New[int](time.Minute)
		exec := failsafe.With[int](rp, cb, to) // outermost first, as Keel's
		return func(ctx context.Context, fn func(context.Context) (int, error)) (int, error) {
			return exec.WithContext(ctx).GetWithExecution(func(e failsafe.Execution[int]) (int, error) { return fn(e.Context()) })
		}
	}},
}

// BenchmarkPipelineSuccess is retry + breaker + timeout around a call that
// succeeds at once: what every healthy call pays. fn=noop does nothing;
// fn=done asks for ctx.Done(), as I/O does (so the timeout's context makes
// its channel).
func BenchmarkPipelineSuccess(b *testing.B) {
	for _, fn := range []struct {
		name string
		fn   func(context.Context) (int, error)
	}{{"noop", succeed}, {"done", honour}} {
		for _, c := range pipelineContenders {
			b.Run("fn="+fn.name+"/impl="+c.name, func(b *testing.B) {
				do := c.make(b)
				ctx := context.Background()
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					if _, err := do(ctx, fn.fn); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPipelineSuccessParallel is the same with one pipeline shared by
// GOMAXPROCS goroutines.
func BenchmarkPipelineSuccessParallel(b *testing.B) {
	for _, c := range pipelineContenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			do := c.make(b)
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := do(ctx, succeed); err != nil {
						b.Error(err)
						return
					}
				}
			})
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
