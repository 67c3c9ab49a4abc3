package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testOtherSalesKey = "test-sales-key-second-0123456789"

// The sales report is served from the HTTP response cache to the caller
// who asked for it, and never to another: not to a caller of another role,
// not to another key of the same role.
func TestSalesReportCacheNeverServesOneCallerToAnother(t *testing.T) {
	keys, err := ParseAPIKeys(testAdminKey + "=admin," + testSalesKey + "=sales," + testOtherSalesKey + "=sales")
	require.NoError(t, err)
	a, err := New(context.Background(), Config{DataDir: t.TempDir(), APIKeys: keys, GatewayURL: "http://127.0.0.1:1",
		Logger: slog.New(slog.DiscardHandler)}, nil)
	require.NoError(t, err)
	h := a.Handler()

	get := func(key string, headers ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/v1/reports/sales?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return w
	}
	status := func(w *httptest.ResponseRecorder) string { return w.Header().Get("Cache-Status") }

	first := get(testSalesKey)
	assert.Equal(t, "keel; fwd=uri-miss; stored", status(first))
	assert.Contains(t, first.Header().Get("Cache-Control"), "private")
	again := get(testSalesKey)
	assert.True(t, strings.HasPrefix(status(again), "keel; hit"), status(again))
	assert.Equal(t, first.Body.String(), again.Body.String())

	admin := get(testAdminKey)
	assert.Equal(t, "keel; fwd=vary-miss; stored", status(admin), "another role: never the sales caller's copy")
	other := get(testOtherSalesKey)
	assert.Equal(t, "keel; fwd=vary-miss; stored", status(other), "another key of the same role: its own copy")

	etag := first.Header().Get("ETag")
	require.NotEmpty(t, etag)
	r := httptest.NewRequest("GET", "/v1/reports/sales?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", nil)
	r.Header.Set("Authorization", "Bearer "+testSalesKey)
	r.Header.Set("If-None-Match", etag)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusNotModified, w.Code)

	var rep map[string]any
	require.NoError(t, json.Unmarshal(first.Body.Bytes(), &rep))
	assert.Contains(t, rep, "sales")
}

// A bad request is a problem (422, no-store): never stored.
func TestSalesReportErrorsAreNotCached(t *testing.T) {
	a := newTestApp(t, t.TempDir(), io.Discard)
	for range 2 {
		w := call(t, a, testSalesKey, "GET", "/v1/reports/sales?from=yesterday", "")
		require.Equal(t, http.StatusUnprocessableEntity, w.Code)
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		assert.Contains(t, w.Header().Get("Cache-Status"), "; detail=status", "not stored: answered by the handler each time")
	}
}
