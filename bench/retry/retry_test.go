package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	retrygo "github.com/avast/retry-go/v4"
	"github.com/cenkalti/backoff/v4"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/keel-go/keel/retry"
)

var errTransient = errors.New("transient")

// succeed is the retried function when the first attempt succeeds. It is not
// inlined, so that the benchmarks measure the libraries' own overhead.
//
//go:noinline
func succeed() error { return nil }

// flaky fails twice, then succeeds; it is reset before each call.
type flaky struct{ calls int }

//go:noinline
func (f *flaky) call() error {
	f.calls++
	if f.calls <= 2 {
		return errTransient
	}
	return nil
}

// A contender makes one call through a library's retry, given the function to
// retry and whether the benchmark wants zero delays (to measure the loop, not
// the sleeping).
type contender struct {
	name string
	make func(b *testing.B, zeroDelay bool) func(fn func() error) error
}

// keel builds Keel's policy with mp as its MeterProvider (nil: otel's global,
// never installed here).
func keel(mp func() metric.MeterProvider) func(*testing.B, bool) func(func() error) error {
	return func(b *testing.B, zeroDelay bool) func(func() error) error {
		cfg := retry.Config{Name: "bench", MaxAttempts: 3}
		if zeroDelay {
			cfg.Backoff = retry.Constant{}
		}
		if mp != nil {
			cfg.MeterProvider = mp()
		}
		p, err := retry.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		return func(fn func() error) error {
			return p.Do(ctx, func(context.Context) error { return fn() })
		}
	}
}

func failsafeRetry(b *testing.B, zeroDelay bool) func(func() error) error {
	builder := retrypolicy.NewBuilder[any]().WithMaxAttempts(3)
	if !zeroDelay {
		builder = builder.WithBackoff(100*time.Millisecond, 10*time.Second).WithJitterFactor(0.5)
	}
	exec := failsafe.With[any](builder.Build())
	return func(fn func() error) error { return exec.Run(fn) }
}

func retryGo(b *testing.B, zeroDelay bool) func(func() error) error {
	ctx := context.Background()
	delay, delayType := 100*time.Millisecond, retrygo.DelayType(retrygo.CombineDelay(retrygo.BackOffDelay, retrygo.RandomDelay))
	if zeroDelay {
		delay, delayType = 0, retrygo.DelayType(retrygo.FixedDelay) // its default adds up to 100ms of random jitter
	}
	return func(fn func() error) error {
		return retrygo.Do(fn, retrygo.Attempts(3), retrygo.Delay(delay), delayType, retrygo.Context(ctx), retrygo.LastErrorOnly(true))
	}
}

// cenkaltiBackoff is backoff.Retry with a fresh ExponentialBackOff per call
// (its state is per call).
func cenkaltiBackoff(b *testing.B, zeroDelay bool) func(func() error) error {
	return func(fn func() error) error {
		var bo backoff.BackOff
		if zeroDelay {
			bo = &backoff.ZeroBackOff{}
		} else {
			bo = backoff.NewExponentialBackOff()
		}
		return backoff.Retry(fn, backoff.WithMaxRetries(bo, 2))
	}
}

var contenders = []contender{
	{"keel", keel(nil)},
	{"keel-noop-meter", keel(func() metric.MeterProvider { return noop.NewMeterProvider() })},
	{"keel-sdk-meter", keel(func() metric.MeterProvider {
		return sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	})},
	{"failsafe", failsafeRetry},
	{"retrygo", retryGo},
	{"backoff", cenkaltiBackoff},
}

// BenchmarkRetryFirstSuccess is the overhead of a retry policy around a call
// whose first attempt succeeds: what every healthy call pays.
func BenchmarkRetryFirstSuccess(b *testing.B) {
	for _, c := range contenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			do := c.make(b, false)
			b.ReportAllocs()
			for b.Loop() {
				if err := do(succeed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRetryFirstSuccessParallel is the same under RunParallel: one
// policy shared by GOMAXPROCS goroutines.
func BenchmarkRetryFirstSuccessParallel(b *testing.B) {
	for _, c := range contenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			do := c.make(b, false)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := do(succeed); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRetryTwoFailures is a call that fails twice then succeeds, with
// zero delays: the cost of the retry loop itself.
func BenchmarkRetryTwoFailures(b *testing.B) {
	for _, c := range contenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			do := c.make(b, true)
			f := &flaky{}
			b.ReportAllocs()
			for b.Loop() {
				f.calls = 0
				if err := do(f.call); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
