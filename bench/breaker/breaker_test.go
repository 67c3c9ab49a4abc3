package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	fscb "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/keel-go/keel/breaker"
)

// succeed is the protected function of the healthy benchmarks: it does
// nothing, so that they measure the breakers' own overhead. It is not inlined.
//
//go:noinline
func succeed() error { return nil }

var errInjected = errors.New("injected failure")

// failOneIn50 fails every 50th call (2%: no breaker here ever trips on it),
// counting across goroutines.
func failOneIn50() func() error {
	var n atomic.Uint64
	return func() error {
		if n.Add(1)%50 == 0 {
			return errInjected
		}
		return nil
	}
}

// sdkMeter is an OpenTelemetry SDK provider with a reader that is never
// collected: the cost of recording with metrics switched on.
func sdkMeter() *sdkmetric.MeterProvider {
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
}

// contender is one library's closed-state call around fn, built once per benchmark.
type contender struct {
	name string
	make func(b *testing.B, fn func() error) func() error
}

func keel(cfg breaker.Config) func(*testing.B, func() error) func() error {
	return func(b *testing.B, fn func() error) func() error {
		br, err := breaker.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		return func() error { return br.Do(ctx, func(context.Context) error { return fn() }) }
	}
}

func gobreakerWith(st gobreaker.Settings) func(*testing.B, func() error) func() error {
	return func(b *testing.B, fn func() error) func() error {
		cb := gobreaker.NewCircuitBreaker[struct{}](st)
		call := func() (struct{}, error) { return struct{}{}, fn() }
		return func() error {
			_, err := cb.Execute(call)
			return err
		}
	}
}

func failsafeWith(cb fscb.CircuitBreaker[any]) func(*testing.B, func() error) func() error {
	return func(b *testing.B, fn func() error) func() error {
		exec := failsafe.With[any](cb)
		return func() error { return exec.Run(fn) }
	}
}

// failsafePermit is failsafe-go's breaker used standalone, without an
// executor: its lightest form.
func failsafePermit(cb fscb.CircuitBreaker[any]) func(*testing.B, func() error) func() error {
	return func(b *testing.B, fn func() error) func() error {
		return func() error {
			if !cb.TryAcquirePermit() {
				return fscb.ErrOpen
			}
			if err := fn(); err != nil {
				cb.RecordError(err)
				return err
			}
			cb.RecordSuccess()
			return nil
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

// check fails the benchmark on anything but the injected failure: a breaker
// that rejected a call would make the comparison meaningless.
func check(b *testing.B, err error) {
	if err != nil && !errors.Is(err, errInjected) {
		b.Fatal(err)
	}
}

func runSerial(b *testing.B, contenders []contender, fn func() func() error) {
	for _, c := range contenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			do := c.make(b, fn())
			b.ReportAllocs()
			for b.Loop() {
				check(b, do())
			}
		})
	}
}

func runParallel(b *testing.B, contenders []contender, fn func() func() error) {
	for _, c := range contenders {
		b.Run("impl="+c.name, func(b *testing.B) {
			do := c.make(b, fn())
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					check(b, do())
				}
			})
		})
	}
}

func healthy() func() error { return succeed }

// BenchmarkBreakerClosed is the overhead of a call through a closed breaker.
func BenchmarkBreakerClosed(b *testing.B) { runSerial(b, consecutive, healthy) }

// BenchmarkBreakerClosedParallel is the same under RunParallel (GOMAXPROCS goroutines).
func BenchmarkBreakerClosedParallel(b *testing.B) { runParallel(b, consecutive, healthy) }

// BenchmarkBreakerClosedRate uses a failure-rate window instead.
func BenchmarkBreakerClosedRate(b *testing.B) { runSerial(b, rate, healthy) }

// BenchmarkBreakerClosedRateParallel is the rate window under RunParallel.
func BenchmarkBreakerClosedRateParallel(b *testing.B) { runParallel(b, rate, healthy) }

// BenchmarkBreakerClosedRateMixed is the rate window with 2% failures, so that
// every breaker records into its window on every call.
func BenchmarkBreakerClosedRateMixed(b *testing.B) { runSerial(b, rate, failOneIn50) }

// BenchmarkBreakerClosedRateMixedParallel is the mixed load under RunParallel.
func BenchmarkBreakerClosedRateMixedParallel(b *testing.B) { runParallel(b, rate, failOneIn50) }
