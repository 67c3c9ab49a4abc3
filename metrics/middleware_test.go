package metrics_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/keel-go/keel/metrics"
)

func TestRoute(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"", ""},
		{"/", "/"},
		{"/{$}", "/"},
		{"GET /customers/{id}", "/customers/{id}"},
		{"POST   /orders", "/orders"},
		{"example.com/static/", "/static/"},
		{"GET api.example.com/items/{id}/{$}", "/items/{id}/"},
		{"/files/{path...}", "/files/{path...}"},
	} {
		assert.Equal(t, tc.want, metrics.Route(tc.pattern), "pattern %q", tc.pattern)
	}
}

// collectHistogram returns the data points of the named histogram.
func collectHistogram(t *testing.T, reader *sdkmetric.ManualReader, scope, name string) []metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != scope {
			continue
		}
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data.(metricdata.Histogram[float64]).DataPoints
			}
		}
	}
	return nil
}

func TestPanicIsRecordedAndReRaised(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
	require.NoError(t, err)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := mw.Handler(mux)
	req := httptest.NewRequest(http.MethodGet, "/boom", nil)
	require.PanicsWithValue(t, "boom", func() { h.ServeHTTP(httptest.NewRecorder(), req) })

	points := collectHistogram(t, reader, metrics.ScopeName, "http.server.request.duration")
	require.Len(t, points, 1)
	errType, ok := points[0].Attributes.Value("error.type")
	require.True(t, ok)
	assert.Equal(t, "panic", errType.AsString())
	_, hasStatus := points[0].Attributes.Value("http.response.status_code")
	assert.False(t, hasStatus, "no status was sent")
}

func TestStatusCapture(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		status  int64
	}{
		{"nothing written is 200", func(http.ResponseWriter, *http.Request) {}, 200},
		{"write without header is 200", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) }, 200},
		{"explicit status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) }, 201},
		{"informational then final", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		}, 202},
		{"flush through the controller", func(w http.ResponseWriter, _ *http.Request) {
			require.NoError(t, http.NewResponseController(w).Flush())
		}, 200},
		{"io.Copy uses ReadFrom", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.Copy(w, io.LimitReader(zeros{}, 10))
		}, 418},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
			require.NoError(t, err)
			mw.Handler(tc.handler).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
			points := collectHistogram(t, reader, metrics.ScopeName, "http.server.request.duration")
			require.Len(t, points, 1)
			status, ok := points[0].Attributes.Value("http.response.status_code")
			require.True(t, ok)
			assert.Equal(t, tc.status, status.AsInt64())
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestCustomExclude(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp,
		Exclude: func(r *http.Request) bool { return r.URL.Path == "/internal" }})
	require.NoError(t, err)
	h := mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/internal", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/metrics", nil))
	points := collectHistogram(t, reader, metrics.ScopeName, "http.server.request.duration")
	require.Len(t, points, 1, "a custom Exclude replaces the default list")
	assert.EqualValues(t, 1, points[0].Count)
}

func TestTracingNamesSpansByRouteWithoutDuplicateMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })

	mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp, TracerProvider: tp, Tracing: true})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
	h := mw.Handler(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/customers/9", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/readyz", nil))

	ended := spans.Ended()
	require.Len(t, ended, 1, "the probe is not traced")
	assert.Equal(t, "GET /customers/{id}", ended[0].Name())

	points := collectHistogram(t, reader, metrics.ScopeName, "http.server.request.duration")
	require.Len(t, points, 1)
	route, _ := points[0].Attributes.Value("http.route")
	assert.Equal(t, "/customers/{id}", route.AsString())
	assert.Nil(t, collectHistogram(t, reader, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "http.server.request.duration"),
		"otelhttp's own duration metric is off")
}

// TestViewsCorrectOtelhttp shows that the Setup views drop the Host-derived
// server.address that otelhttp puts on its metrics.
func TestViewsCorrectOtelhttp(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	tel, err := metrics.Setup(context.Background(), metrics.Config{
		DisableGlobal: true, DisablePrometheus: true, DisableRuntimeMetrics: true, Readers: []sdkmetric.Reader{reader},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	h := otelhttp.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "op",
		otelhttp.WithMeterProvider(tel.MeterProvider()), otelhttp.WithTracerProvider(tel.TracerProvider()))
	for _, host := range []string{"a.example", "b.example:8443"} {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Host = host
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	points := collectHistogram(t, reader, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "http.server.request.duration")
	require.Len(t, points, 1, "two Host headers make one series")
	assert.False(t, points[0].Attributes.HasValue(attribute.Key("server.address")))
	assert.False(t, points[0].Attributes.HasValue(attribute.Key("server.port")))
	assert.EqualValues(t, 2, points[0].Count)
}

func TestGoexitIsRecordedAndNotTurnedIntoAPanic(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
	require.NoError(t, err)
	h := mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { runtime.Goexit() }))

	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	}()
	assert.Nil(t, <-done, "the goroutine exits without a panic")
	points := collectHistogram(t, reader, metrics.ScopeName, "http.server.request.duration")
	require.Len(t, points, 1)
	assert.EqualValues(t, 1, points[0].Count)
}

// TestHijackPassesThrough upgrades a connection behind the middleware, as a
// WebSocket server does, over a real socket.
func TestHijackPassesThrough(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
	require.NoError(t, err)
	srv := httptest.NewServer(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello")
		_ = buf.Flush()
	})))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	require.NoError(t, err)
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Contains(t, string(got), "101 Switching Protocols")
	assert.True(t, strings.HasSuffix(string(got), "hello"))

	// The handler closed the connection before returning, so the record
	// may land an instant after the client saw EOF.
	var points []metricdata.HistogramDataPoint[float64]
	require.Eventually(t, func() bool {
		points = collectHistogram(t, reader, metrics.ScopeName, "http.server.request.duration")
		return len(points) == 1
	}, 5*time.Second, time.Millisecond)
	status, _ := points[0].Attributes.Value("http.response.status_code")
	assert.EqualValues(t, 101, status.AsInt64())
}
