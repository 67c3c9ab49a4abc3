package otlp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/otlp"
)

// setup is metrics.Setup with the OTLP exporter cfg and the environment
// ask for.
func setup(t *testing.T, cfg otlp.Config, mcfg metrics.Config) *metrics.Telemetry {
	t.Helper()
	exp, err := otlp.New(cfg)
	require.NoError(t, err)
	mcfg.Exporters = []metrics.Exporter{exp}
	tel, err := metrics.Setup(context.Background(), mcfg)
	require.NoError(t, err)
	return tel
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := otlp.New(otlp.Config{Protocol: "udp"})
	require.EqualError(t, err, `otlp: Config.Protocol must be "grpc" or "http/protobuf", got "udp"`)
	_, err = otlp.New(otlp.Config{ExportInterval: -1})
	require.EqualError(t, err, "otlp: Config.ExportInterval must be >= 0, got -1ns")
}

func TestDisabledWithoutConfigOrEnvironment(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	exp, err := otlp.New(otlp.Config{})
	require.NoError(t, err)
	assert.False(t, exp.Enabled())
	m, s, err := exp.NewExporters(context.Background())
	require.NoError(t, err)
	assert.Nil(t, m)
	assert.Nil(t, s)
}

func TestEnvProtocolIsValidated(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	_, err := otlp.New(otlp.Config{})
	require.EqualError(t, err, `otlp: Config.Protocol must be "grpc" or "http/protobuf", got "http/json"`)
}

// collector is a fake OTLP/HTTP collector that records the paths posted to.
type collector struct {
	mu    sync.Mutex
	posts map[string]int
	auth  []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/x-protobuf" {
		c.posts[r.URL.Path]++
		c.auth = append(c.auth, r.Header.Get("Authorization"))
	}
	w.WriteHeader(http.StatusOK)
}

// TestOTLPFromEnvironmentFlushesOnShutdown configures OTLP/HTTP through the
// standard variables only and checks that Shutdown delivers both signals.
func TestOTLPFromEnvironmentFlushesOnShutdown(t *testing.T) {
	col := &collector{posts: map[string]int{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20token-from-env")

	tel := setup(t, otlp.Config{}, metrics.Config{ServiceName: "salesapi", DisableGlobal: true, DisablePrometheus: true})
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "work")
	span.End()
	counter, err := tel.MeterProvider().Meter("test").Int64Counter("keel.test.events")
	require.NoError(t, err)
	counter.Add(context.Background(), 1)

	require.NoError(t, tel.Shutdown(context.Background()))
	col.mu.Lock()
	defer col.mu.Unlock()
	assert.GreaterOrEqual(t, col.posts["/v1/metrics"], 1, "metrics flushed: %v", col.posts)
	assert.GreaterOrEqual(t, col.posts["/v1/traces"], 1, "traces flushed: %v", col.posts)
	assert.Contains(t, col.auth, "Bearer token-from-env")
}

func TestOTLPFromConfig(t *testing.T) {
	col := &collector{posts: map[string]int{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	tel := setup(t, otlp.Config{Protocol: otlp.ProtocolHTTPProtobuf, Endpoint: srv.URL, DisableTraces: true},
		metrics.Config{DisableGlobal: true, DisablePrometheus: true, DisableRuntimeMetrics: true})
	counter, err := tel.MeterProvider().Meter("test").Int64Counter("keel.test.events")
	require.NoError(t, err)
	counter.Add(context.Background(), 1)
	require.NoError(t, tel.Shutdown(context.Background()))
	col.mu.Lock()
	defer col.mu.Unlock()
	assert.GreaterOrEqual(t, col.posts["/v1/metrics"], 1)
	assert.Zero(t, col.posts["/v1/traces"], "traces disabled")
}

func TestEnvExporterNoneSwitchesASignalOff(t *testing.T) {
	col := &collector{posts: map[string]int{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	tel := setup(t, otlp.Config{}, metrics.Config{DisableGlobal: true, DisablePrometheus: true})
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "work")
	span.End()
	require.NoError(t, tel.Shutdown(context.Background()))
	col.mu.Lock()
	defer col.mu.Unlock()
	assert.GreaterOrEqual(t, col.posts["/v1/metrics"], 1)
	assert.Zero(t, col.posts["/v1/traces"])
}
