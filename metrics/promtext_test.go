package metrics

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	otelmetric "go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/protobuf/proto"

	"github.com/keel-go/keel/metrics/internal/promtool"
)

// The OpenTelemetry Prometheus exporter behind client_golang's registry and
// promhttp is what Keel served before its own exposition; it stays as a test
// dependency, the reference these tests compare with.

// oldGatherer is the renaming the old handler applied to the registry's
// output (exposition.go's prometheusRenames).
type oldGatherer struct{ prometheus.Gatherer }

func (g oldGatherer) Gather() ([]*dto.MetricFamily, error) {
	fams, err := g.Gatherer.Gather()
	for _, f := range fams {
		if to, ok := prometheusRenames[f.GetName()]; ok && f.GetType() != dto.MetricType_HISTOGRAM {
			f.Name = &to
		}
	}
	return fams, err
}

// fixedProducer hands both readers the same data, so that a difference in
// their output is a difference in rendering, never in collection time.
type fixedProducer struct{ scopes []metricdata.ScopeMetrics }

func (p fixedProducer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	return p.scopes, nil
}

// renderers serves the same data through the old exporter and through
// Keel's handler.
type renderers struct {
	old, keel http.Handler
	provider  *sdkmetric.MeterProvider
}

func newRenderers(t testing.TB, res *resource.Resource, scopes []metricdata.ScopeMetrics) renderers {
	t.Helper()
	p := fixedProducer{scopes}
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithProducer(p))
	require.NoError(t, err)
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(exporter), sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return renderers{
		old:      promhttp.HandlerFor(oldGatherer{registry}, promhttp.HandlerOpts{}),
		keel:     newExpositionHandler(reader),
		provider: mp,
	}
}

func scrape(h http.Handler, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func parseText(t testing.TB, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err, "exposition does not parse:\n%s", text)
	return fams
}

// requireSameExposition renders with both and requires the same families,
// parsed, and the same bytes.
func requireSameExposition(t *testing.T, r renderers) string {
	t.Helper()
	old, keel := scrape(r.old, nil), scrape(r.keel, nil)
	require.Equal(t, http.StatusOK, old.Code, "the reference failed: %s", old.Body)
	require.Equal(t, http.StatusOK, keel.Code)
	assert.Equal(t, old.Header().Get("Content-Type"), keel.Header().Get("Content-Type"))
	oldFams, keelFams := parseText(t, old.Body.String()), parseText(t, keel.Body.String())
	require.ElementsMatch(t, keys(oldFams), keys(keelFams))
	for name, want := range oldFams {
		assert.True(t, proto.Equal(want, keelFams[name]), "family %s differs:\nold:  %v\nkeel: %v", name, want, keelFams[name])
	}
	assert.Equal(t, old.Body.String(), keel.Body.String(), "byte for byte")
	return keel.Body.String()
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// keelScopes collects what a real Setup emits (HTTP server and client
// metrics after traffic, runtime and process metrics) and adds one
// instrument for every row of docs/METRICS.md, under its scope, unit and
// attributes.
func keelScopes(t testing.TB) (*resource.Resource, []metricdata.ScopeMetrics) {
	t.Helper()
	capture := sdkmetric.NewManualReader()
	tel, err := Setup(context.Background(), Config{
		ServiceName: "salesapi", ServiceVersion: "1.2.3", InstanceID: "test-1", DisableGlobal: true,
		Readers: []sdkmetric.Reader{capture},
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()

	mw, err := NewMiddleware(MiddlewareConfig{MeterProvider: tel.MeterProvider()})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	srv := httptest.NewServer(mw.Handler(mux))
	defer srv.Close()
	tr, err := NewTransport(TransportConfig{MeterProvider: tel.MeterProvider()})
	require.NoError(t, err)
	client := &http.Client{Transport: tr}
	for _, u := range []string{"/customers/1", "/customers/2", "/nowhere"} {
		resp, err := client.Get(srv.URL + u)
		require.NoError(t, err)
		_ = resp.Body.Close()
	}
	resp, err := client.Post(srv.URL+"/orders", "text/plain", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	client.CloseIdleConnections()

	documented := documentedInstruments(t)
	collected := func() (metricdata.ResourceMetrics, map[string]bool) {
		var rm metricdata.ResourceMetrics
		require.NoError(t, capture.Collect(context.Background(), &rm))
		names := map[string]bool{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				names[m.Name] = true
			}
		}
		return rm, names
	}
	_, names := collected()
	for _, d := range documented {
		// What the real instrumentation did not report (go.memory.limit
		// without GOMEMLIMIT, the databases' metrics) is recorded by an
		// instrument of the documented name, unit and attributes.
		if !names[d.name] {
			d.record(t, tel.MeterProvider())
		}
	}
	rm, names := collected()
	for _, d := range documented {
		require.True(t, names[d.name], "documented metric %s was not collected", d.name)
	}
	for _, want := range []string{"http.server.request.duration", "http.client.request.duration", "go.goroutine.count", "process.cpu.time"} {
		require.True(t, names[want], "%s was not collected", want)
	}
	return tel.Resource(), rm.ScopeMetrics
}

type documentedInstrument struct {
	scope, name, kind, unit, help string
	float                         bool
	attrs                         []string
}

var (
	tableRow     = regexp.MustCompile("^\\| `([a-z0-9_.]+)`[^|]*\\|([^|]*)\\| `([^`]*)` \\|([^|]*)\\|([^|]*)")
	scopeLine    = regexp.MustCompile("^Scope `([^`]+)`")
	attributeKey = regexp.MustCompile("`([a-z][a-z0-9_]*(?:\\.[a-z0-9_]+)+)`")
)

// documentedInstruments reads every metric of docs/METRICS.md.
func documentedInstruments(t testing.TB) []documentedInstrument {
	t.Helper()
	f, err := os.Open("../docs/METRICS.md")
	require.NoError(t, err)
	defer f.Close()
	var out []documentedInstrument
	scope := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := scopeLine.FindStringSubmatch(line); m != nil {
			scope = m[1]
		}
		m := tableRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		kind := strings.ToLower(m[2])
		d := documentedInstrument{scope: scope, name: m[1], unit: m[3], help: cmp.Or(strings.TrimSpace(m[5]), strings.TrimSpace(m[4])), float: strings.Contains(kind, "float")}
		switch {
		case strings.Contains(kind, "histogram"):
			d.kind = "histogram"
		case strings.Contains(kind, "up-down"), strings.Contains(kind, "updown"):
			d.kind = "updown"
		case strings.Contains(kind, "counter"):
			d.kind = "counter"
		case strings.Contains(kind, "gauge"):
			d.kind = "gauge"
		default:
			t.Fatalf("METRICS.md: unknown instrument %q for %s", m[2], m[1])
		}
		for _, a := range attributeKey.FindAllStringSubmatch(m[4], -1) {
			d.attrs = append(d.attrs, a[1])
		}
		out = append(out, d)
	}
	require.NoError(t, sc.Err())
	require.Greater(t, len(out), 70, "METRICS.md lists every metric Keel emits")
	return out
}

func (d documentedInstrument) record(t testing.TB, mp otelmetric.MeterProvider) {
	t.Helper()
	var attrs []attribute.KeyValue
	for i, k := range d.attrs {
		attrs = append(attrs, attribute.String(k, []string{"success", "open", "db-1", `tricky "\ value`}[i%4]))
	}
	opt := otelmetric.WithAttributes(attrs...)
	unit := otelmetric.WithUnit(d.unit)
	help := otelmetric.WithDescription(d.help)
	m := mp.Meter(d.scope)
	ctx := context.Background()
	var err error
	switch {
	case d.kind == "histogram":
		var h otelmetric.Float64Histogram
		if h, err = m.Float64Histogram(d.name, unit, help); err == nil {
			h.Record(ctx, 0.042, opt)
			h.Record(ctx, 1.5, opt)
		}
	case d.kind == "counter" && d.float:
		var c otelmetric.Float64Counter
		if c, err = m.Float64Counter(d.name, unit, help); err == nil {
			c.Add(ctx, 2.5, opt)
		}
	case d.kind == "counter":
		var c otelmetric.Int64Counter
		if c, err = m.Int64Counter(d.name, unit, help); err == nil {
			c.Add(ctx, 3, opt)
		}
	case d.kind == "updown":
		var c otelmetric.Int64UpDownCounter
		if c, err = m.Int64UpDownCounter(d.name, unit, help); err == nil {
			c.Add(ctx, -4, opt)
		}
	case d.float:
		var g otelmetric.Float64Gauge
		if g, err = m.Float64Gauge(d.name, unit, help); err == nil {
			g.Record(ctx, 0.25, opt)
		}
	default:
		var g otelmetric.Int64Gauge
		if g, err = m.Int64Gauge(d.name, unit, help); err == nil {
			g.Record(ctx, 7, opt)
		}
	}
	require.NoError(t, err, d.name)
}

func TestExpositionMatchesOldExporterForEveryKeelMetric(t *testing.T) {
	res, scopes := keelScopes(t)
	text := requireSameExposition(t, newRenderers(t, res, scopes))
	fams := parseText(t, text)
	for _, want := range []string{
		"http_server_request_duration_seconds", "http_client_request_duration_seconds", "go_goroutines",
		"process_open_fds", "target_info", "keel_retry_calls_total", "keel_breaker_state_ratio",
		"keel_backup_bytes_total", "db_client_connections", "keel_sqlmetrics_slow_queries_total",
	} {
		assert.Contains(t, fams, want)
	}
	assert.NotContains(t, fams, "go_goroutine_count")
}

func edgeScopes() []metricdata.ScopeMetrics {
	now := time.Unix(1_800_000_000, 0)
	attrs := attribute.NewSet(
		attribute.String("quote", `say "hi"`), attribute.String("back.slash", `C:\dir\`),
		attribute.String("new-line", "a\nb"), attribute.String("utf8", "café ☕"),
		// Keys that sanitise to one label: values joined, sorted, with ";".
		attribute.String("a.b", "2"), attribute.String("a-b", "1"), attribute.String("a_b", "3"),
		attribute.String("0starts.with.digit", "x"), attribute.Int("int", 42), attribute.Bool("bool", true),
		attribute.StringSlice("slice", []string{"x", "y"}), attribute.Float64("float", 1.5),
	)
	empty := attribute.NewSet()
	return []metricdata.ScopeMetrics{
		{
			Scope: instrumentation.Scope{Name: "edge/one", Version: "v1.0.0", SchemaURL: "https://opentelemetry.io/schemas/1.43.0",
				Attributes: attribute.NewSet(attribute.String("scope.attr", "s"), attribute.String("name", "ignored"))},
			Metrics: []metricdata.Metrics{
				{Name: "edge.values", Description: "NaN, infinities, zero, negative zero, large, tiny.\nSecond line \\ with backslash.", Unit: "By",
					Data: metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{
						{Attributes: attribute.NewSet(attribute.String("v", "nan")), Value: math.NaN(), Time: now},
						{Attributes: attribute.NewSet(attribute.String("v", "+inf")), Value: math.Inf(1), Time: now},
						{Attributes: attribute.NewSet(attribute.String("v", "-inf")), Value: math.Inf(-1), Time: now},
						{Attributes: attribute.NewSet(attribute.String("v", "zero")), Value: 0, Time: now},
						{Attributes: attribute.NewSet(attribute.String("v", "negzero")), Value: math.Copysign(0, -1), Time: now},
						{Attributes: attribute.NewSet(attribute.String("v", "large")), Value: 1.7976931348623157e308, Time: now},
						{Attributes: attribute.NewSet(attribute.String("v", "tiny")), Value: 5e-324, Time: now},
						{Attributes: attribute.NewSet(attribute.String("v", "minus one")), Value: -1, Time: now},
					}}},
				{Name: "edge.escaping", Description: "first description wins", Unit: "1",
					Data: metricdata.Sum[int64]{IsMonotonic: true, Temporality: metricdata.CumulativeTemporality,
						DataPoints: []metricdata.DataPoint[int64]{{Attributes: attrs, Value: 9, Time: now}}}},
				{Name: "needs sanitising/ä.ms", Description: "a name with spaces, a slash and a non-ASCII letter", Unit: "ms",
					Data: metricdata.Sum[float64]{IsMonotonic: false, Temporality: metricdata.CumulativeTemporality,
						DataPoints: []metricdata.DataPoint[float64]{{Attributes: empty, Value: -2.5, Time: now}}}},
				{Name: "edge.histogram.empty", Description: "no observations", Unit: "s",
					Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[float64]{
						{Attributes: empty, Bounds: []float64{0.1, 1, 10}, BucketCounts: []uint64{0, 0, 0, 0}, Time: now},
						{Attributes: attribute.NewSet(attribute.String("bounds", "none")), Bounds: nil, BucketCounts: []uint64{0}, Time: now},
					}}},
				{Name: "edge.histogram.int", Description: "integer histogram", Unit: "{item}",
					Data: metricdata.Histogram[int64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[int64]{
						{Attributes: attrs, Bounds: []float64{-1, 0, 2.5, 1e9}, BucketCounts: []uint64{1, 2, 3, 4, 5}, Count: 15, Sum: 12345, Time: now},
					}}},
				{Name: "edge.exponential", Description: "exponential histogram", Unit: "s",
					Data: metricdata.ExponentialHistogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{
						{Attributes: empty, Count: 3, Sum: 4.5, Scale: 2, ZeroCount: 1, PositiveBucket: metricdata.ExponentialBucket{Offset: 1, Counts: []uint64{1, 1}}, Time: now},
					}}},
				{Name: "edge.per.time", Unit: "By/s", Description: "unit with a per",
					Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: empty, Value: 1 << 53, Time: now}}}},
				{Name: "edge.no.help", Unit: "", Description: "",
					Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: empty, Value: 3, Time: now}}}},
				{Name: "edge.no.points", Unit: "1", Description: "no data points yet",
					Data: metricdata.Sum[int64]{IsMonotonic: true, Temporality: metricdata.CumulativeTemporality}},
			},
		},
		{
			// A second scope with an instrument of the same name: one
			// family, the first help, series told apart by the scope.
			Scope: instrumentation.Scope{Name: "edge/two"},
			Metrics: []metricdata.Metrics{
				{Name: "edge.escaping", Description: "another description", Unit: "1",
					Data: metricdata.Sum[int64]{IsMonotonic: true, Temporality: metricdata.CumulativeTemporality,
						DataPoints: []metricdata.DataPoint[int64]{{Attributes: empty, Value: 1, Time: now}}}},
				{Name: "go.goroutine.count", Unit: "{goroutine}", Description: "renamed",
					Data: metricdata.Sum[int64]{IsMonotonic: false, Temporality: metricdata.CumulativeTemporality,
						DataPoints: []metricdata.DataPoint[int64]{{Attributes: empty, Value: 12, Time: now}}}},
			},
		},
	}
}

func TestExpositionMatchesOldExporterOnEdgeCases(t *testing.T) {
	res := resource.NewSchemaless(attribute.String("service.name", "edge \"svc\"\n"), attribute.String("host.name", `h\1`))
	text := requireSameExposition(t, newRenderers(t, res, edgeScopes()))
	fams := parseText(t, text)
	require.Contains(t, fams, "edge_escaping_total")
	assert.Len(t, fams["edge_escaping_total"].GetMetric(), 2, "two scopes, one family")
	assert.Contains(t, fams, "go_goroutines")
	assert.Contains(t, text, `a_b="1;2;3"`)
	assert.Contains(t, text, `key_0starts_with_digit="x"`)
	assert.Contains(t, text, `quote="say \"hi\""`)
	assert.Contains(t, text, `new_line="a\nb"`)
	assert.NotContains(t, text, "edge_no_points")
}

// TestExpositionKeepsWhatTheOldExporterRefused: where the old stack
// answered 500 for the whole scrape, Keel leaves out the offending part and
// serves the rest.
func TestExpositionKeepsWhatTheOldExporterRefused(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	point := func(v int64, kv ...attribute.KeyValue) []metricdata.DataPoint[int64] {
		return []metricdata.DataPoint[int64]{{Attributes: attribute.NewSet(kv...), Value: v, Time: now}}
	}
	scopes := []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: "clash"},
		Metrics: []metricdata.Metrics{
			{Name: "fine", Unit: "1", Data: metricdata.Gauge[int64]{DataPoints: point(1)}},
			// A gauge and a counter named alike after sanitising.
			{Name: "same", Data: metricdata.Gauge[int64]{DataPoints: point(1)}},
			{Name: "same", Data: metricdata.Sum[int64]{IsMonotonic: false, DataPoints: point(2)}},
			{Name: "same_total", Data: metricdata.Sum[int64]{IsMonotonic: true, DataPoints: point(3)}},
			{Name: "same.total", Data: metricdata.Sum[int64]{IsMonotonic: true, DataPoints: point(4)}},
			// A gauge named like a histogram's series.
			{Name: "lat", Data: metricdata.Histogram[float64]{DataPoints: []metricdata.HistogramDataPoint[float64]{{Attributes: attribute.NewSet(), Count: 1, Sum: 1, Bounds: []float64{1}, BucketCounts: []uint64{1, 0}}}}},
			{Name: "lat_count", Data: metricdata.Gauge[int64]{DataPoints: point(5)}},
			// An attribute posing as the scope, a reserved name, bad UTF-8.
			{Name: "spoof", Data: metricdata.Gauge[int64]{DataPoints: point(6, attribute.String("otel.scope.name", "evil"))}},
			{Name: "bad_utf8", Data: metricdata.Gauge[int64]{DataPoints: point(7, attribute.String("v", "a\xffb"))}},
			{Name: "summary", Data: metricdata.Summary{}},
		},
	}}
	r := newRenderers(t, resource.Empty(), scopes)
	assert.Equal(t, http.StatusInternalServerError, scrape(r.old, nil).Code, "the reference refuses the scrape")
	rec := scrape(r.keel, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	fams := parseText(t, rec.Body.String())
	assert.Contains(t, fams, "fine_ratio")
	assert.Contains(t, fams, "lat")
	assert.NotContains(t, fams, "lat_count", "it would collide with the histogram's _count")
	require.Contains(t, fams, "same")
	assert.Len(t, fams["same"].GetMetric(), 1, "the second of two same-named series is left out")
	assert.Len(t, fams["same_total"].GetMetric(), 1)
	require.Contains(t, fams, "spoof")
	assert.Equal(t, "clash", labelValue(fams["spoof"].GetMetric()[0], "otel_scope_name"), "the scope label wins")
	require.Contains(t, fams, "bad_utf8")
	assert.Equal(t, "a\uFFFDb", labelValue(fams["bad_utf8"].GetMetric()[0], "v"))
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestPromtoolAcceptsEveryKeelMetric runs `promtool check metrics` over the
// exposition of every documented metric.
func TestPromtoolAcceptsEveryKeelMetric(t *testing.T) {
	bin := promtool.Path(t)
	res, scopes := keelScopes(t)
	rec := scrape(newRenderers(t, res, scopes).keel, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = rec.Body
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)
}

func TestPromtoolParsesEdgeCases(t *testing.T) {
	bin := promtool.Path(t)
	res := resource.NewSchemaless(attribute.String("service.name", "edge \"svc\"\n"))
	rec := scrape(newRenderers(t, res, edgeScopes()).keel, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = rec.Body
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics:\n%s", out)
	// Exit status 3 is lint findings alone (the edge cases' names are
	// unusual on purpose); 1 would be output promtool cannot parse.
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		err = nil
	}
	require.NoError(t, err)
	assert.NotContains(t, string(out), "error while linting")
}
