package metrics

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestHandlerVariesOnAcceptEncoding: every answer of the handler says it
// varies with Accept-Encoding, so that a cache between Prometheus and the
// service never serves gzip to a scraper that did not ask for it, and the
// encoding follows acceptsGzip.
func TestHandlerVariesOnAcceptEncoding(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	h := newExpositionHandler(reader)
	serve := func(acceptEncoding string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, ae := range []string{"", "gzip", "gzip;level=1;q=0", "*", "identity;q=0, *"} {
		rec := serve(ae)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, []string{"Accept-Encoding"}, rec.Header().Values("Vary"), "Accept-Encoding: %q", ae)
		body := io.Reader(rec.Body)
		if acceptsGzip(ae) {
			require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"), "Accept-Encoding: %q", ae)
			zr, err := gzip.NewReader(rec.Body)
			require.NoError(t, err)
			body = zr
		} else {
			assert.Empty(t, rec.Header().Get("Content-Encoding"), "Accept-Encoding: %q", ae)
		}
		text, err := io.ReadAll(body)
		require.NoError(t, err)
		assert.Contains(t, parseText(t, string(text)), "target_info")
	}

	// A header repeated on several lines is one list (RFC 9110 §5.3).
	for _, tc := range []struct {
		lines []string
		gzip  bool
	}{
		{[]string{"deflate", "gzip"}, true},
		{[]string{"gzip", "gzip;q=0"}, false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header["Accept-Encoding"] = tc.lines
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, tc.gzip, rec.Header().Get("Content-Encoding") == "gzip", "Accept-Encoding lines %q", tc.lines)
	}

	require.NoError(t, mp.Shutdown(context.Background()))
	rec := serve("gzip")
	assert.Empty(t, rec.Body.String(), "nothing to show after Shutdown")
	assert.Equal(t, []string{"Accept-Encoding"}, rec.Header().Values("Vary"), "after Shutdown")
}
