package sqlmetrics

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkInstrumentationFloor measures what any instrumentation of a
// query must pay however it is written, so that BenchmarkQueryOverhead's
// figures can be split into the unavoidable and the rest:
//
//   - clock: two monotonic clock reads (time.Since), the start and the end;
//   - record: one Float64Histogram.Record on the SDK with a pre-built
//     attribute set of the four attributes sqlmetrics records for the
//     benchmark's statement (db.system.name, db.query.summary,
//     db.operation.name, db.collection.name);
//   - clock+record: both, the floor of a query's metric.
func BenchmarkInstrumentationFloor(b *testing.B) {
	ctx := context.Background()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(ctx) })
	hist, err := mp.Meter("floor").Float64Histogram("db.client.operation.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10))
	if err != nil {
		b.Fatal(err)
	}
	opts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
		attribute.String("db.system.name", "sqlite"), attribute.String("db.query.summary", "UPDATE kv"),
		attribute.String("db.operation.name", "UPDATE"), attribute.String("db.collection.name", "kv")))}
	base := time.Now()
	var sink time.Duration
	cases := []struct {
		name string
		op   func()
	}{
		{"clock", func() { start := time.Since(base); sink += time.Since(base) - start }},
		{"record", func() { hist.Record(ctx, 0.000042, opts...) }},
		{"clock+record", func() {
			start := time.Since(base)
			hist.Record(ctx, (time.Since(base) - start).Seconds(), opts...)
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			stop := reportCPU(b)
			b.ReportAllocs()
			for b.Loop() {
				c.op()
			}
			stop()
		})
	}
	_ = sink
}
