package metrics

import (
	"context"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	keelmetrics "github.com/keel-go/keel/metrics"
)

// cannedTransport answers every request with the same 200 from memory, so
// that the benchmark measures the instrumentation, not a network.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// BenchmarkClientTransport measures what one outgoing request pays for its
// instrumentation, over a base transport that answers from memory:
//
//   - none: the base alone;
//   - otelhttp-metrics: otelhttp.NewTransport with a no-op tracer provider
//     (its http.client.* metrics, no span);
//   - keel: metrics.Transport, metrics only (http.client.request.duration);
//   - otelhttp: otelhttp.NewTransport defaults (span, traceparent, metrics);
//   - keel+tracing: metrics.Transport with a span and traceparent.
//
// Real SDK providers: a MeterProvider with a ManualReader and a
// TracerProvider that samples every span into a no-op exporter; the
// TraceContext propagator for both.
func BenchmarkClientTransport(b *testing.B) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	b.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	prop := propagation.TraceContext{}
	keel, err := keelmetrics.NewTransport(keelmetrics.TransportConfig{Base: cannedTransport{}, MeterProvider: mp,
		Propagator: prop})
	if err != nil {
		b.Fatal(err)
	}
	keelTracing, err := keelmetrics.NewTransport(keelmetrics.TransportConfig{Base: cannedTransport{}, MeterProvider: mp,
		TracerProvider: tp, Tracing: true, Propagator: prop})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		rt   http.RoundTripper
	}{
		{"none", cannedTransport{}},
		{"otelhttp-metrics", otelhttp.NewTransport(cannedTransport{}, otelhttp.WithMeterProvider(mp),
			otelhttp.WithTracerProvider(tracenoop.NewTracerProvider()), otelhttp.WithPropagators(prop))},
		{"keel", keel},
		{"otelhttp", otelhttp.NewTransport(cannedTransport{}, otelhttp.WithMeterProvider(mp),
			otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))},
		{"keel+tracing", keelTracing},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, "http://payments.internal:8080/v1/charges/42", nil)
			stop := reportCPU(b)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			stop()
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
