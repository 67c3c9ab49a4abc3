package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/keel-go/keel/metrics"
)

func TestSetupRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  metrics.Config
		want string
	}{
		{"protocol", metrics.Config{OTLP: metrics.OTLPConfig{Protocol: "udp"}},
			`metrics: Config.OTLP.Protocol must be "grpc" or "http/protobuf", got "udp"`},
		{"interval", metrics.Config{OTLP: metrics.OTLPConfig{ExportInterval: -1}},
			"metrics: Config.OTLP.ExportInterval must be >= 0, got -1ns"},
		{"attribute", metrics.Config{Attributes: []attribute.KeyValue{{Key: "", Value: attribute.StringValue("x")}}},
			`metrics: Config.Attributes has an invalid attribute ""`},
		{"reader", metrics.Config{Readers: []sdkmetric.Reader{nil}}, "metrics: Config.Readers contains a nil reader"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DisableGlobal = true
			_, err := metrics.Setup(context.Background(), tc.cfg)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestEnvProtocolIsValidated(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	_, err := metrics.Setup(context.Background(), metrics.Config{DisableGlobal: true})
	require.EqualError(t, err, `metrics: Config.OTLP.Protocol must be "grpc" or "http/protobuf", got "http/json"`)
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

	tel, err := metrics.Setup(context.Background(), metrics.Config{
		ServiceName: "salesapi", DisableGlobal: true, DisablePrometheus: true,
	})
	require.NoError(t, err)
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
	tel, err := metrics.Setup(context.Background(), metrics.Config{
		DisableGlobal: true, DisablePrometheus: true, DisableRuntimeMetrics: true,
		OTLP: metrics.OTLPConfig{Protocol: metrics.ProtocolHTTPProtobuf, Endpoint: srv.URL, DisableTraces: true},
	})
	require.NoError(t, err)
	counter, err := tel.MeterProvider().Meter("test").Int64Counter("keel.test.events")
	require.NoError(t, err)
	counter.Add(context.Background(), 1)
	require.NoError(t, tel.Shutdown(context.Background()))
	col.mu.Lock()
	defer col.mu.Unlock()
	assert.GreaterOrEqual(t, col.posts["/v1/metrics"], 1)
	assert.Zero(t, col.posts["/v1/traces"], "traces disabled")
}

func TestPrometheusDisabledAnswers404(t *testing.T) {
	tel, err := metrics.Setup(context.Background(), metrics.Config{DisableGlobal: true, DisablePrometheus: true})
	require.NoError(t, err)
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestShutdownTwice(t *testing.T) {
	tel, err := metrics.Setup(context.Background(), metrics.Config{DisableGlobal: true})
	require.NoError(t, err)
	require.NoError(t, tel.Shutdown(context.Background()))
	require.NoError(t, tel.Shutdown(context.Background()), "a second Shutdown returns the first result")
}

func TestEnvExporterNoneSwitchesASignalOff(t *testing.T) {
	col := &collector{posts: map[string]int{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	tel, err := metrics.Setup(context.Background(), metrics.Config{DisableGlobal: true, DisablePrometheus: true})
	require.NoError(t, err)
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "work")
	span.End()
	require.NoError(t, tel.Shutdown(context.Background()))
	col.mu.Lock()
	defer col.mu.Unlock()
	assert.GreaterOrEqual(t, col.posts["/v1/metrics"], 1)
	assert.Zero(t, col.posts["/v1/traces"])
}

func TestResourceFromConfigAndEnvironment(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging")
	tel, err := metrics.Setup(context.Background(), metrics.Config{DisableGlobal: true, DisablePrometheus: true,
		Attributes: []attribute.KeyValue{attribute.String("team", "sales")}})
	require.NoError(t, err)
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := tel.Resource().Set()
	name, _ := set.Value("service.name")
	assert.Equal(t, "from-env", name.AsString(), "OTEL_SERVICE_NAME when Config.ServiceName is empty")
	env, _ := set.Value("deployment.environment.name")
	assert.Equal(t, "staging", env.AsString())
	team, _ := set.Value("team")
	assert.Equal(t, "sales", team.AsString())
	id, _ := set.Value("service.instance.id")
	assert.Regexp(t, "^[0-9a-f]{32}$", id.AsString(), "a random instance id")

	other, err := metrics.Setup(context.Background(), metrics.Config{ServiceName: "salesapi", DisableGlobal: true, DisablePrometheus: true})
	require.NoError(t, err)
	defer func() { require.NoError(t, other.Shutdown(context.Background())) }()
	name, _ = other.Resource().Set().Value("service.name")
	assert.Equal(t, "salesapi", name.AsString(), "the config wins over the environment")
	otherID, _ := other.Resource().Set().Value("service.instance.id")
	assert.NotEqual(t, id.AsString(), otherID.AsString())
}
