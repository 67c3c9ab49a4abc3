package breaker

import (
	"context"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	fscb "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/keel-go/keel/breaker"
)

// call is the protected function: it does nothing, so that the benchmarks
// measure the breakers' own overhead. It is not inlined into the callers.
//
//go:noinline
func call(context.Context) error { return nil }

//go:noinline
func callPlain() error { return nil }

// sdkMeter is an OpenTelemetry SDK provider with a reader that is never
// collected: the cost of recording with metrics switched on.
func sdkMeter() *sdkmetric.MeterProvider {
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
}

// contender is one library's closed-state call, built once per benchmark.
type contender struct {
	name string
	make func(b *testing.B) func()
}

func keel(cfg breaker.Config) func(b *testing.B) func() {
	return func(b *testing.B) func() {
		br, err := breaker.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		return func() {
			if err := br.Do(ctx, call); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func gobreakerWith(st gobreaker.Settings) func(b *testing.B) func() {
	return func(b *testing.B) func() {
		cb := gobreaker.NewCircuitBreaker[struct{}](st)
		fn := func() (struct{}, error) { return struct{}{}, callPlain() }
		return func() {
			if _, err := cb.Execute(fn); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func failsafeWith(cb fscb.CircuitBreaker[any]) func(b *testing.B) func() {
	return func(b *testing.B) func() {
		exec := failsafe.With[any](cb)
		return func() {
			if err := exec.Run(callPlain); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// failsafePermit is failsafe-go's breaker used standalone, without an
// executor: its lightest form.
func failsafePermit(cb fscb.CircuitBreaker[any]) func(b *testing.B) func() {
	return func(b *testing.B) func() {
		return func() {
			if !cb.TryAcquirePermit() {
				b.Fatal("rejected")
			}
			if err := callPlain(); err != nil {
				cb.RecordError(err)
				return
			}
			cb.RecordSuccess()
		}
	}
}

// Trip after 5 consecutive failures: each library's default kind of breaker.
var consecutive = []contender{
	{"keel", keel(breaker.Config{Name: "bench", ConsecutiveFailures: 5})},
	{"keel-noop-meter", keel(breaker.Config{Name: "bench", ConsecutiveFailures: 5, MeterProvider: noop.NewMeterProvider()})},
	{"keel-sdk-meter", keel(breaker.Config{Name: "bench", ConsecutiveFailures: 5, MeterProvider: sdkMeter()})},
	{"gobreaker", gobreakerWith(gobreaker.Settings{Name: "bench"})}, // default: trips after 5 consecutive failures
	{"failsafe", failsafeWith(fscb.NewBuilder[any]().WithFailureThreshold(5).Build())},
	{"failsafe-permit", failsafePermit(fscb.NewBuilder[any]().WithFailureThreshold(5).Build())},
}

// Trip at a 50% failure rate over the last 100 calls.
var rate = []contender{
	{"keel", keel(breaker.Config{Name: "bench", FailureRate: 0.5, WindowSize: 100, MinimumCalls: 100})},
	{"gobreaker", gobreakerWith(gobreaker.Settings{Name: "bench", ReadyToTrip: func(c gobreaker.Counts) bool {
		return c.Requests >= 100 && c.TotalFailures*2 >= c.Requests // counts since the last reset, not a sliding window
	}})},
	{"failsafe", failsafeWith(fscb.NewBuilder[any]().WithFailureThresholdRatio(50, 100).Build())},
	{"failsafe-permit", failsafePermit(fscb.NewBuilder[any]().WithFailureThresholdRatio(50, 100).Build())},
}

func runSerial(b *testing.B, contenders []contender) {
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			do := c.make(b)
			b.ReportAllocs()
			for b.Loop() {
				do()
			}
		})
	}
}

func runParallel(b *testing.B, contenders []contender) {
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			do := c.make(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					do()
				}
			})
		})
	}
}

// BenchmarkBreakerClosed is the overhead of a call through a closed breaker.
func BenchmarkBreakerClosed(b *testing.B) { runSerial(b, consecutive) }

// BenchmarkBreakerClosedParallel is the same under RunParallel (GOMAXPROCS goroutines).
func BenchmarkBreakerClosedParallel(b *testing.B) { runParallel(b, consecutive) }

// BenchmarkBreakerClosedRate uses a failure-rate window instead.
func BenchmarkBreakerClosedRate(b *testing.B) { runSerial(b, rate) }

// BenchmarkBreakerClosedRateParallel is the rate window under RunParallel.
func BenchmarkBreakerClosedRateParallel(b *testing.B) { runParallel(b, rate) }
