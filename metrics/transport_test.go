package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
)

func clientPoints(t *testing.T, reader *sdkmetric.ManualReader) map[string]uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "http.client.request.duration" {
				continue
			}
			assert.Equal(t, "s", m.Unit)
			for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				var parts []string
				for _, kv := range p.Attributes.ToSlice() {
					parts = append(parts, string(kv.Key)+"="+kv.Value.String())
				}
				out[strings.Join(parts, ",")] += p.Count
			}
		}
	}
	return out
}

func TestTransportRecordsTheConventionsAttributes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndexByte(port, ':')+1:]
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	tr, err := metrics.NewTransport(metrics.TransportConfig{MeterProvider: mp})
	require.NoError(t, err)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	for _, path := range []string{"/ok?secret=1", "/ok", "/fail"} {
		resp, err := client.Get(srv.URL + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
	}
	// A refused connection: a transport error, no status.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	_, err = client.Get(closedURL)
	require.Error(t, err)

	points := clientPoints(t, reader)
	tail := ",network.protocol.version=1.1,server.address=127.0.0.1,server.port=" + port + ",url.scheme=http"
	assert.Equal(t, uint64(2), points["http.request.method=GET,http.response.status_code=200"+tail], "%v", points)
	assert.Equal(t, uint64(1), points["error.type=503,http.request.method=GET,http.response.status_code=503"+tail], "%v", points)
	var refused uint64
	for k, n := range points {
		if strings.HasPrefix(k, "error.type=*net.OpError,") {
			refused += n
		}
	}
	assert.Equal(t, uint64(1), refused, "%v", points)
	for k := range points {
		assert.NotContains(t, k, "secret", "no query in any attribute")
	}
}

func TestTransportPropagatesTraceContextWithoutTouchingTheRequest(t *testing.T) {
	var mu sync.Mutex
	var gotParent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotParent = r.Header.Get("traceparent")
		mu.Unlock()
	}))
	defer srv.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	tr, err := metrics.NewTransport(metrics.TransportConfig{TracerProvider: tp, Tracing: true,
		Propagator: propagation.TraceContext{}})
	require.NoError(t, err)
	defer tr.CloseIdleConnections()

	ctx, parent := tp.Tracer("test").Start(context.Background(), "handler")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x?token=abc", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	parent.End()

	assert.Empty(t, req.Header.Get("traceparent"), "the caller's request is not modified")
	var client sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.Name() == "GET" {
			client = s
		}
	}
	require.NotNil(t, client)
	assert.Equal(t, parent.SpanContext().TraceID(), client.SpanContext().TraceID())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "00-"+client.SpanContext().TraceID().String()+"-"+client.SpanContext().SpanID().String()+"-01", gotParent)
	for _, kv := range client.Attributes() {
		assert.NotContains(t, kv.Value.String(), "token", "no query on the span")
		if kv.Key == "http.response.status_code" {
			assert.Equal(t, attribute.IntValue(200), kv.Value)
		}
	}
}

// TestTransportComposesWithBreakerAndResilience: as the Base of
// breaker.Transport, attempts the breaker rejects never reach it; as the
// Base of resilience's Transport, every retry attempt is measured.
func TestTransportComposesWithBreakerAndResilience(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if r.URL.Path == "/down" || n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	measured, err := metrics.NewTransport(metrics.TransportConfig{MeterProvider: mp})
	require.NoError(t, err)
	defer measured.CloseIdleConnections()

	// resilience: the first attempt meets a 503, the retry succeeds.
	policy, err := retry.New(retry.Config{Name: "payments", MaxAttempts: 3, Backoff: retry.Constant{}})
	require.NoError(t, err)
	pipeline, err := resilience.With(policy)
	require.NoError(t, err)
	rt, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: pipeline, Base: measured})
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: rt}).Post(srv.URL+"/charges", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// breaker: opens after the failures, then rejects without a request.
	bt, err := breaker.NewTransport(breaker.TransportConfig{Base: measured,
		Breaker: breaker.Config{Name: "partner", FailureRate: 0.5, MinimumCalls: 2, WindowSize: 2}})
	require.NoError(t, err)
	rejected := 0
	for i := 0; i < 5; i++ {
		resp, err := (&http.Client{Transport: bt}).Get(srv.URL + "/down")
		if err != nil {
			rejected++
			continue
		}
		_ = resp.Body.Close()
	}
	require.Equal(t, 3, rejected)

	var attempts503, attempts200 uint64
	for k, n := range clientPoints(t, reader) {
		if strings.Contains(k, "http.response.status_code=503") {
			attempts503 += n
		}
		if strings.Contains(k, "http.response.status_code=200") {
			attempts200 += n
		}
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, uint64(calls), attempts503+attempts200, "every request that reached the server, and only those")
	assert.Equal(t, uint64(1), attempts200)
	assert.Equal(t, uint64(3), attempts503, "one failed attempt retried + two before the breaker opened")
}
