package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/alert"
	"github.com/keel-go/keel/metrics/health"
)

// Example wires a service: telemetry, HTTP metrics and traces, probes and
// an alert rule, in about twenty lines.
func Example() {
	ctx := context.Background()
	alertReader := sdkmetric.NewManualReader()
	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi", ServiceVersion: "1.4.0",
		Readers: []sdkmetric.Reader{alertReader}})
	if err != nil {
		panic(err)
	}
	defer tel.Shutdown(ctx)

	checks, _ := health.New(health.Config{ServiceID: "salesapi"})
	defer checks.Close()
	_ = checks.Register(health.Check{Name: "postgres", ComponentType: "datastore",
		Func: func(ctx context.Context) error { return nil }}) // health.SQLPing(db) in a real service
	rules, _ := alert.New(alert.Config{Source: alertReader, Notifiers: []alert.Notifier{alert.SlogNotifier{Logger: slog.Default()}},
		Rules: []alert.Rule{{Name: "HighErrorRatio", Severity: alert.SeverityCritical, For: 5 * time.Minute,
			Condition: alert.ErrorRatio{Above: 0.05}}}})
	defer rules.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.PathValue("id")) })
	mux.Handle("GET /metrics", tel.Handler())
	mux.Handle("GET /livez", checks.Livez())
	mux.Handle("GET /readyz", checks.Readyz())
	mw, _ := metrics.NewMiddleware(metrics.MiddlewareConfig{Tracing: true})
	srv := httptest.NewServer(mw.Handler(mux)) // http.ListenAndServe(":8080", mw.Handler(mux)) in a real service
	defer srv.Close()

	for _, path := range []string{"/customers/42", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode)
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "http_server_request_duration_seconds_count") {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// /customers/42 200
	// /readyz 200
	// /metrics 200
	// http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/customers/{id}",network_protocol_version="1.1",otel_scope_name="github.com/keel-go/keel/metrics",otel_scope_schema_url="",otel_scope_version="",url_scheme="http"} 1
}

// ExampleNewTransport measures an outgoing call: the histogram gets one
// point per request, by method, server and status.
func ExampleNewTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	tr, err := metrics.NewTransport(metrics.TransportConfig{MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr} // or breaker.NewTransport(breaker.TransportConfig{Base: tr, ...})
	resp, err := client.Get(srv.URL + "/v1/charges")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	h := rm.ScopeMetrics[0].Metrics[0]
	status, _ := h.Data.(metricdata.Histogram[float64]).DataPoints[0].Attributes.Value("http.response.status_code")
	fmt.Println(h.Name, status.AsInt64())
	// Output: http.client.request.duration 200
}
