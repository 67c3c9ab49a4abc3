package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	keelmetrics "github.com/keel-go/keel/metrics"
)

// BenchmarkServerMiddleware measures the cost one request pays for its
// instrumentation: the same ServeMux with a route pattern, called directly
// (no network), behind
//
//   - none: no middleware (the baseline);
//   - otelhttp: otelhttp.NewHandler with its defaults (a span and its
//     http.server.* metrics);
//   - otelhttp-metrics: otelhttp with a no-op tracer provider, so only its
//     metrics (http.server.request.duration and the body sizes);
//   - keel: Keel's middleware, metrics only (http.server.request.duration),
//     the like-for-like peer of otelhttp-metrics;
//   - keel+tracing: Keel's middleware with Tracing (Keel's metric plus
//     otelhttp's span with otelhttp's metrics off), the like-for-like peer
//     of otelhttp.
//
// All use real SDK providers: a MeterProvider with a ManualReader and a
// TracerProvider that samples every span into a no-op exporter.
func BenchmarkServerMiddleware(b *testing.B) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	b.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	keel, err := keelmetrics.NewMiddleware(keelmetrics.MiddlewareConfig{MeterProvider: mp})
	if err != nil {
		b.Fatal(err)
	}
	keelTracing, err := keelmetrics.NewMiddleware(keelmetrics.MiddlewareConfig{MeterProvider: mp, TracerProvider: tp, Tracing: true})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name    string
		handler http.Handler
	}{
		{"none", mux},
		{"otelhttp", otelhttp.NewHandler(mux, "http.server", otelhttp.WithMeterProvider(mp), otelhttp.WithTracerProvider(tp))},
		{"otelhttp-metrics", otelhttp.NewHandler(mux, "http.server", otelhttp.WithMeterProvider(mp),
			otelhttp.WithTracerProvider(tracenoop.NewTracerProvider()))},
		{"keel", keel.Wrap(mux)},
		{"keel+tracing", keelTracing.Wrap(mux)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &discardWriter{header: http.Header{}}
			// One request, reused: net/http's own parsing is the same in
			// every case and would only add noise to the difference. The
			// mux re-sets its routing fields on every call.
			req := httptest.NewRequest(http.MethodGet, "/customers/42", nil)
			b.ReportAllocs()
			stop := reportCPU(b)
			for b.Loop() {
				clear(w.header)
				c.handler.ServeHTTP(w, req)
			}
			stop()
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark measures the middleware and not a recorder's buffers.
type discardWriter struct {
	header http.Header
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
