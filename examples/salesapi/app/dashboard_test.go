package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// The dashboard is served at /admin/dashboard/ to the admin role only: the
// page and its JSON; a sales key gets 403, no key 401.
func TestDashboardMountedForAdmins(t *testing.T) {
	dash, err := NewDashboard(t.TempDir())
	require.NoError(t, err)
	defer dash.Close()
	mp := sdkmetric.NewMeterProvider(dash.Option())
	defer mp.Shutdown(context.Background())
	keys, err := ParseAPIKeys(testAdminKey + "=admin," + testSalesKey + "=sales")
	require.NoError(t, err)
	a, err := New(context.Background(), Config{DataDir: t.TempDir(), APIKeys: keys, GatewayURL: "http://127.0.0.1:1",
		Dashboard: dash}, nil)
	require.NoError(t, err)
	defer a.Close()

	w := call(t, a, testAdminKey, "GET", DashboardPath, "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "<h1>Keel dashboard</h1>")
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")

	w = call(t, a, testAdminKey, "GET", DashboardPath+"api", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	assert.Contains(t, doc, "bottlenecks")

	w = call(t, a, testSalesKey, "GET", DashboardPath, "")
	assert.Equal(t, http.StatusForbidden, w.Code)
	w = call(t, a, "", "GET", DashboardPath+"api", "")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	body, _ := io.ReadAll(w.Body)
	assert.NotContains(t, string(body), "breakers")
}
