package metrics_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/internal/promtool"
)

// service is a small API behind the middleware, as a user would wire it,
// with /metrics served by the Telemetry's handler.
func service(t *testing.T, tel *metrics.Telemetry) *httptest.Server {
	t.Helper()
	mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: tel.MeterProvider()})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "customer "+r.PathValue("id"))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database down", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.Handle("GET /metrics", tel.Handler())
	srv := httptest.NewServer(mw.Handler(mux))
	t.Cleanup(srv.Close)
	return srv
}

func setup(t *testing.T) *metrics.Telemetry {
	t.Helper()
	tel, err := metrics.Setup(context.Background(), metrics.Config{
		ServiceName: "salesapi", ServiceVersion: "1.2.3", InstanceID: "test-1", DisableGlobal: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	return tel
}

func do(t *testing.T, method, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

func scrapeText(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err)
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// series finds the one series of fam whose labels include want.
func series(t *testing.T, fam *dto.MetricFamily, want map[string]string) *dto.Metric {
	t.Helper()
	var found []*dto.Metric
	for _, m := range fam.GetMetric() {
		got := labels(m)
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
			}
		}
		if match {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "series %v in %s", want, fam.GetName())
	return found[0]
}

func TestScrapedRequestDurationFollowsSemanticConventions(t *testing.T) {
	tel := setup(t)
	srv := service(t, tel)

	evilHost := http.Header{"Host": {"attacker-chosen.example"}}
	for range 3 {
		assert.Equal(t, http.StatusOK, do(t, http.MethodGet, srv.URL+"/customers/42", evilHost).StatusCode)
	}
	assert.Equal(t, http.StatusServiceUnavailable, do(t, http.MethodPost, srv.URL+"/orders", nil).StatusCode)
	assert.Equal(t, http.StatusNotFound, do(t, http.MethodGet, srv.URL+"/nowhere/7", nil).StatusCode)
	assert.Equal(t, http.StatusMethodNotAllowed, do(t, "BREW", srv.URL+"/orders", nil).StatusCode)
	assert.Equal(t, http.StatusOK, do(t, http.MethodGet, srv.URL+"/livez", nil).StatusCode)

	fams := parse(t, scrapeText(t, srv.URL))
	fam := fams["http_server_request_duration_seconds"]
	require.NotNil(t, fam, "families: %v", keys(fams))
	assert.Equal(t, dto.MetricType_HISTOGRAM, fam.GetType())
	assert.Equal(t, "Duration of HTTP server requests.", fam.GetHelp())

	ok := series(t, fam, map[string]string{"http_route": "/customers/{id}"})
	assert.Equal(t, map[string]string{
		"http_request_method":       "GET",
		"http_response_status_code": "200",
		"http_route":                "/customers/{id}",
		"url_scheme":                "http",
		"network_protocol_version":  "1.1",
		"otel_scope_name":           metrics.ScopeName,
		"otel_scope_version":        "",
		"otel_scope_schema_url":     "",
	}, withoutEmpty(labels(ok), "otel_scope_version", "otel_scope_schema_url"))
	assert.EqualValues(t, 3, ok.GetHistogram().GetSampleCount())
	var bounds []float64
	for _, b := range ok.GetHistogram().GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	assert.Equal(t, []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}, bounds[:14], "advised buckets")
	assert.Equal(t, bounds[:14], metrics.DurationBuckets())

	failed := series(t, fam, map[string]string{"http_route": "/orders", "http_request_method": "POST"})
	assert.Equal(t, "503", labels(failed)["error_type"])
	assert.Equal(t, "503", labels(failed)["http_response_status_code"])

	// An unmatched request has no route, and an unknown method is _OTHER.
	notFound := series(t, fam, map[string]string{"http_response_status_code": "404"})
	_, hasRoute := labels(notFound)["http_route"]
	assert.False(t, hasRoute, "a 404 from the mux has no http.route")
	assert.Empty(t, labels(notFound)["error_type"], "4xx is not a server error")
	series(t, fam, map[string]string{"http_request_method": "_OTHER", "http_response_status_code": "405"})

	for _, m := range fam.GetMetric() {
		l := labels(m)
		assert.NotContains(t, l, "server_address", "server.address is Opt-In and Host-controlled")
		assert.NotEqual(t, "/livez", l["http_route"], "probes are excluded")
		assert.NotEqual(t, "/metrics", l["http_route"], "scrapes are excluded")
	}

	// Runtime metrics and the resource are exposed too.
	assert.Contains(t, fams, "go_goroutines")
	assert.NotContains(t, fams, "go_goroutine_count")
	info := fams["target_info"]
	require.NotNil(t, info)
	assert.Equal(t, "salesapi", labels(info.GetMetric()[0])["service_name"])
	assert.Equal(t, "1.2.3", labels(info.GetMetric()[0])["service_version"])
	assert.Equal(t, "test-1", labels(info.GetMetric()[0])["service_instance_id"])
}

func withoutEmpty(m map[string]string, optional ...string) map[string]string {
	for _, k := range optional {
		if _, ok := m[k]; !ok {
			m[k] = ""
		}
	}
	return m
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPromtoolAcceptsExposition runs `promtool check metrics` (the
// Prometheus linter) over a real scrape.
func TestPromtoolAcceptsExposition(t *testing.T) {
	bin := promtool.Path(t)
	tel := setup(t)
	srv := service(t, tel)
	do(t, http.MethodGet, srv.URL+"/customers/1", nil)
	do(t, http.MethodPost, srv.URL+"/orders", nil)

	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrapeText(t, srv.URL))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)
}

// TestHandlerNegotiation: the handler answers every scraper with the text
// format 0.0.4 (a scraper asking for protobuf first falls back to it, as
// Prometheus does when the Content-Type says text), gzip-compressed when
// asked, and an empty 200 once the telemetry is shut down.
func TestHandlerNegotiation(t *testing.T) {
	tel, err := metrics.Setup(context.Background(), metrics.Config{ServiceName: "salesapi", InstanceID: "n-1", DisableGlobal: true})
	require.NoError(t, err)
	const textType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
	for _, tc := range []struct {
		name, accept, encoding string
		gzipped                bool
	}{
		{"prometheus-3", "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", "gzip", true},
		{"protobuf-first", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3", "gzip, deflate", true},
		{"curl", "*/*", "", false},
		{"gzip-refused", "", "gzip;q=0, identity", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept", tc.accept)
			req.Header.Set("Accept-Encoding", tc.encoding)
			tel.Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, textType, rec.Header().Get("Content-Type"))
			body := io.Reader(rec.Body)
			if tc.gzipped {
				require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
				zr, err := gzip.NewReader(rec.Body)
				require.NoError(t, err)
				body = zr
			} else {
				assert.Empty(t, rec.Header().Get("Content-Encoding"))
			}
			text, err := io.ReadAll(body)
			require.NoError(t, err)
			fams := parse(t, string(text))
			assert.Contains(t, fams, "target_info")
			assert.Contains(t, fams, "go_goroutines")
		})
	}

	require.NoError(t, tel.Shutdown(context.Background()))
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, rec.Body.String(), "nothing to show after Shutdown")
}
