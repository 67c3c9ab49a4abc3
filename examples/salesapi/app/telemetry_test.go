package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/requestctx"
)

// TestSlowQueryInTheLogAndOnMetrics: with the threshold set low, the
// statements a request runs are logged with its request id and API route,
// without their values, and counted on /metrics.
func TestSlowQueryInTheLogAndOnMetrics(t *testing.T) {
	ctx := context.Background()
	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi-test", DisableRuntimeMetrics: true,
		DisableProcessMetrics: true})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = tel.Shutdown(ctx)
		otel.SetMeterProvider(noop.NewMeterProvider())
	})
	var logs bytes.Buffer
	keys, err := ParseAPIKeys(testAdminKey + "=admin")
	require.NoError(t, err)
	a, err := New(ctx, Config{DataDir: t.TempDir(), APIKeys: keys, GatewayURL: "http://127.0.0.1:1",
		SlowQueryThreshold: time.Nanosecond, MetricsHandler: tel.Handler(),
		Logger: slog.New(requestctx.NewLogHandler(slog.NewJSONHandler(&logs, nil)))}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	logs.Reset() // startup's own statements

	r := httptest.NewRequest(http.MethodGet, "/v1/customers/cus_secret123", nil)
	r.Header.Set("Authorization", "Bearer "+testAdminKey)
	r.Header.Set(requestctx.Header, "req-slow-1")
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, r)
	require.Equal(t, http.StatusNotFound, w.Code, w.Body.String())
	assert.Equal(t, "req-slow-1", w.Header().Get(requestctx.Header))

	var slow map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["msg"] == "sqlmetrics: slow query" && rec["db.query.summary"] == "SELECT customers" {
			slow = rec
			t.Log(line) // the line the README shows
		}
	}
	require.NotNil(t, slow, logs.String())
	assert.Equal(t, "req-slow-1", slow["request_id"])
	assert.Equal(t, "/v1/customers/{id}", slow["http.route"])
	assert.NotContains(t, logs.String(), "cus_secret123", "no argument value in any log line")

	m := httptest.NewRecorder()
	a.Handler().ServeHTTP(m, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(m.Body)
	assert.Regexp(t, `keel_sqlmetrics_slow_queries_total\{[^}]*db_query_summary="SELECT customers"[^}]*\} [1-9]`, string(body))
	assert.Contains(t, string(body), `db_client_operation_duration_seconds_count{`)
	// The API mux's route, not the root mux's catch-all "/" (carryRoute).
	assert.Regexp(t, `http_server_request_duration_seconds_count\{[^}]*http_route="/v1/customers/\{id\}"`, string(body))
}
