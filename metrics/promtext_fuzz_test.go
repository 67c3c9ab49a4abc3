package metrics

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// FuzzPromText renders arbitrary names, units, label keys and values: the
// output always parses, nothing is left out without an error, and wherever the old exporter answered at all, the
// two answers are the same bytes.
func FuzzPromText(f *testing.F) {
	f.Add("http.server.request.duration", "s", "http.route", "/customers/{id}", "scope", "desc", 1.5)
	f.Add("a\"b\\c\nd", "By/s", "k\"\\\n", "v\"\\\n", "", "help\n\\", math.Copysign(0, -1))
	f.Add("go.goroutine.count", "{goroutine}", "__reserved", "\xff", "edge/one", "", 1e308)
	f.Add("0", "1", "0", "", "x", "", 0.0)
	f.Add("_", "%", "_", "x", "otel_scope_name", "h", -1.0)
	f.Add("n", "s", "k", "v", "s", "h", math.NaN())
	// A histogram point labelled le: the old exporter wrote two le labels.
	f.Add("n", "s", "le", "x", "s", "h", 1.0)
	f.Fuzz(func(t *testing.T, name, unit, key, value, scope, help string, v float64) {
		now := time.Unix(1_800_000_000, 0)
		attrs := attribute.NewSet(attribute.String(key, value), attribute.String(key+".2", value+"2"))
		scopes := []metricdata.ScopeMetrics{{
			Scope: instrumentation.Scope{Name: scope, Version: value, Attributes: attribute.NewSet(attribute.String(key, value))},
			Metrics: []metricdata.Metrics{
				{Name: name, Unit: unit, Description: help, Data: metricdata.Sum[float64]{IsMonotonic: true,
					DataPoints: []metricdata.DataPoint[float64]{{Attributes: attrs, Value: v, Time: now}}}},
				{Name: name + ".g", Unit: unit, Description: help, Data: metricdata.Gauge[float64]{
					DataPoints: []metricdata.DataPoint[float64]{{Attributes: attrs, Value: v, Time: now}}}},
				{Name: name + ".h", Unit: unit, Description: help, Data: metricdata.Histogram[float64]{
					DataPoints: []metricdata.HistogramDataPoint[float64]{{Attributes: attrs, Time: now, Count: 2, Sum: v,
						Bounds: []float64{-v, 0, v}, BucketCounts: []uint64{1, 0, 1, 0}}}}},
			},
		}}
		res := resource.NewSchemaless(attribute.String(key, value))

		families, renderErr := newPromRenderer().families(&metricdata.ResourceMetrics{Resource: res, ScopeMetrics: scopes})
		text := string(writePromText(nil, families))
		p := expfmt.NewTextParser(model.LegacyValidation)
		parsed, err := p.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatalf("exposition does not parse: %v\n%s", err, text)
		}
		// Nothing is left out silently: without an error, each of the
		// three instruments shows its one point and target_info its one
		// (the Prometheus bridge's scope is skipped on purpose).
		if want := 4; renderErr == nil {
			if scope == bridgeScopeName {
				want = 1
			}
			series := 0
			for _, fam := range parsed {
				series += len(fam.GetMetric())
			}
			if series != want {
				t.Fatalf("no error, yet %d series instead of %d:\n%s", series, want, text)
			}
		}

		if math.IsNaN(v) {
			// NaN bucket bounds: client_golang ordered them by map
			// iteration, differently from one scrape to the next.
			return
		}
		r := newRenderers(t, res, scopes)
		old := scrape(r.old, nil)
		if old.Code != http.StatusOK {
			return // the old stack refused the whole scrape; Keel's parses
		}
		oldParser := expfmt.NewTextParser(model.LegacyValidation)
		if _, err := oldParser.TextToMetricFamilies(strings.NewReader(old.Body.String())); err != nil {
			return // the old stack served what Prometheus cannot parse (two le labels)
		}
		if repeatsALabelName(old.Body.String()) {
			// Two le labels whose values both read as numbers pass the
			// text parser, but Prometheus's scrape rejects the series for
			// its duplicate label name; Keel refuses the point instead.
			return
		}
		// The old stack copied help text that is not UTF-8 as it was;
		// Keel replaces the bad bytes, as the text format is UTF-8.
		if keel := scrape(r.keel, nil).Body.String(); keel != strings.ToValidUTF8(old.Body.String(), "\uFFFD") {
			t.Fatalf("differs from the old exporter:\nold:\n%s\nkeel:\n%s", old.Body, keel)
		}
	})
}

// repeatsALabelName reports whether any sample line of a text exposition
// names one label twice. Label values are quoted with backslash escapes, so a
// brace, comma or equals sign inside one is skipped.
func repeatsALabelName(text string) bool {
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		open := strings.IndexByte(line, '{')
		if open < 0 {
			continue
		}
		seen := map[string]bool{}
		rest := line[open+1:]
		for {
			eq := strings.IndexByte(rest, '=')
			if eq < 0 {
				break
			}
			name := strings.TrimLeft(rest[:eq], ", ")
			if seen[name] {
				return true
			}
			seen[name] = true
			// Skip the quoted value: rest[eq+1] is the opening quote.
			i := eq + 2
			for i < len(rest) && rest[i] != '"' {
				if rest[i] == '\\' {
					i++
				}
				i++
			}
			if i+1 >= len(rest) || rest[i+1] == '}' {
				break
			}
			rest = rest[i+1:]
		}
	}
	return false
}

func TestRepeatsALabelName(t *testing.T) {
	for text, want := range map[string]bool{
		`a{le="0",k="1",le="2"} 1` + "\n":                 true,
		`a{le="0",k="1"} 1` + "\n":                        false,
		`a{k="x\",le=\"",le="1"} 1` + "\n":                false,
		`a{k="{,=}",k2="x"} 1` + "\n# b{k=\"\",k=\"\"}\n": false,
		"a 1\nb{x=\"\"} 2\nc{y=\"\",y=\"\"} 3\n":          true,
	} {
		if got := repeatsALabelName(text); got != want {
			t.Errorf("repeatsALabelName(%q) = %v, want %v", text, got, want)
		}
	}
}
