package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keel-go/keel/metrics/dashboard"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// newDashboard returns a public dashboard and a MeterProvider that feeds it,
// both closed when the test ends.
func newDashboard(t *testing.T, cfg dashboard.Config) (*dashboard.Dashboard, *sdkmetric.MeterProvider) {
	t.Helper()
	cfg.Public = cfg.Authorize == nil
	d, err := dashboard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(d.Option())
	t.Cleanup(func() {
		_ = d.Close()
		_ = mp.Shutdown(context.Background())
	})
	return d, mp
}

// getAPI fetches the JSON document through the handler and decodes it.
func getAPI(t *testing.T, d http.Handler) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/dashboard/api", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("api answered %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("api Content-Type = %q", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("api answered invalid JSON: %v\n%s", err, rec.Body)
	}
	return doc
}

func getPage(t *testing.T, d http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/dashboard/", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("page answered %d: %s", rec.Code, rec.Body)
	}
	return rec
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
