package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
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
		{"exporter", metrics.Config{Exporters: []metrics.Exporter{nil}}, "metrics: Config.Exporters[0] is nil"},
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

// A nil Logger means no logs: Setup, which logs what it installed, does
// not panic.
func TestSetupWithNilLogger(t *testing.T) {
	tel, err := metrics.Setup(context.Background(), metrics.Config{DisableGlobal: true, DisablePrometheus: true})
	require.NoError(t, err)
	require.NoError(t, tel.Shutdown(context.Background()))
}
