package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// This file renders collected metricdata in the Prometheus text exposition
// format 0.0.4, with the names, labels and order that
// go.opentelemetry.io/otel/exporters/prometheus (behind client_golang's
// registry and promhttp) produced before Keel wrote its own: Keel's
// dashboards and alert rules use those names. Names and labels are built by
// prometheus/otlptranslator with the exporter's default strategy
// (UnderscoreEscapingWithSuffixes), which links no protobuf.
//
// Where the old stack answered a whole scrape with HTTP 500 (a type clash
// between two instruments of one name, a duplicated series, a label clash, a
// reserved label name, a value that is not UTF-8), this writer leaves out the
// offending family, series or label, keeps the rest, and returns an error
// naming what it left out.

const (
	targetInfoHelp  = "Target metadata"
	scopeNameLabel  = "otel_scope_name"
	scopeVerLabel   = "otel_scope_version"
	scopeURLLabel   = "otel_scope_schema_url"
	bridgeScopeName = "go.opentelemetry.io/contrib/bridges/prometheus"
)

type familyKind int

const (
	kindCounter familyKind = iota
	kindGauge
	kindHistogram
)

func (k familyKind) String() string {
	switch k {
	case kindCounter:
		return "counter"
	case kindGauge:
		return "gauge"
	default:
		return "histogram"
	}
}

type promLabel struct{ name, value string }

// promHistogram is a classic histogram point: cumulative counts per upper
// bound, the +Inf bucket being the total count.
type promHistogram struct {
	bounds     []float64
	cumulative []uint64
	count      uint64
	sum        float64
}

type promSeries struct {
	labels []promLabel // sorted by name, names unique
	value  float64
	hist   *promHistogram
}

type promFamily struct {
	name   string
	help   string
	kind   familyKind
	series []promSeries
}

// promRenderer turns metricdata into families. The zero value is not
// usable: use newPromRenderer.
type promRenderer struct {
	metricNamer otlptranslator.MetricNamer
	labelNamer  otlptranslator.LabelNamer
}

func newPromRenderer() *promRenderer {
	return &promRenderer{
		metricNamer: otlptranslator.NewMetricNamer("", otlptranslator.UnderscoreEscapingWithSuffixes),
		labelNamer:  otlptranslator.LabelNamer{},
	}
}

// families returns rm's families sorted by name, their series sorted as
// client_golang's registry sorts them, with prometheusRenames applied. The
// error lists what was left out; the families are usable either way.
func (r *promRenderer) families(rm *metricdata.ResourceMetrics) ([]*promFamily, error) {
	var errs []error
	byName := map[string]*promFamily{}
	var order []*promFamily
	add := func(name, help string, kind familyKind, series []promSeries) {
		f, ok := byName[name]
		if !ok {
			f = &promFamily{name: name, help: help, kind: kind}
			byName[name] = f
			order = append(order, f)
		} else if f.kind != kind {
			errs = append(errs, fmt.Errorf("metrics: %s is a %s and a %s: the %s is left out", name, f.kind, kind, kind))
			return
		}
		f.series = append(f.series, series...)
	}

	res := rm.Resource
	if res == nil {
		res = resource.Empty()
	}
	if labels, err := r.attributeLabels(res.Set().ToSlice(), ""); err != nil {
		errs = append(errs, fmt.Errorf("metrics: target_info left out: %w", err))
	} else {
		add(otlptranslator.TargetInfoMetricName, targetInfoHelp, kindGauge, []promSeries{{labels: labels, value: 1}})
	}

	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == bridgeScopeName {
			continue // the old exporter refused the Prometheus bridge too
		}
		scopeAttrs, err := r.attributeLabels(sm.Scope.Attributes.ToSlice(), "otel_scope_")
		if err != nil {
			errs = append(errs, fmt.Errorf("metrics: scope %q left out: %w", sm.Scope.Name, err))
			continue
		}
		scope := append([]promLabel{
			{scopeNameLabel, validUTF8(sm.Scope.Name)}, {scopeVerLabel, validUTF8(sm.Scope.Version)},
			{scopeURLLabel, validUTF8(sm.Scope.SchemaURL)},
		}, scopeAttrs...)
		for _, m := range sm.Metrics {
			kind, naming, ok := kindOf(m.Data)
			if !ok {
				errs = append(errs, fmt.Errorf("metrics: %s has an aggregation (%T) the exposition cannot show", m.Name, m.Data))
				continue
			}
			name, err := r.metricNamer.Build(otlptranslator.Metric{Name: m.Name, Unit: m.Unit, Type: naming})
			if err == nil && !validMetricName(name) {
				err = fmt.Errorf("invalid name %q", name)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("metrics: %s left out: %w", m.Name, err))
				continue
			}
			series, err := r.series(m.Data, scope)
			if err != nil {
				errs = append(errs, fmt.Errorf("metrics: %s: %w", name, err))
			}
			// A second instrument of the same name keeps the first one's
			// help, as the old exporter did.
			add(name, m.Description, kind, series)
		}
	}
	return finishFamilies(byName, order, errs)
}

// finishFamilies sorts, drops what would not parse or would clash, and
// renames.
func finishFamilies(byName map[string]*promFamily, order []*promFamily, errs []error) ([]*promFamily, error) {
	out := order[:0]
	for _, f := range order {
		if len(f.series) == 0 {
			continue
		}
		if h := collidingHistogram(f.name, byName); h != "" {
			errs = append(errs, fmt.Errorf("metrics: %s left out: its series would collide with histogram %s", f.name, h))
			continue
		}
		sortSeries(f.series)
		f.series = slices.CompactFunc(f.series, func(a, b promSeries) bool {
			if sameLabels(a.labels, b.labels) {
				errs = append(errs, fmt.Errorf("metrics: %s: a duplicate series %s is left out", f.name, labelString(b.labels)))
				return true
			}
			return false
		})
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *promFamily) int { return strings.Compare(a.name, b.name) })
	// Renamed after sorting, as renamingGatherer did on the registry's
	// sorted output, so the order stays the old one.
	for _, f := range out {
		if to, ok := prometheusRenames[f.name]; ok && f.kind != kindHistogram && byName[to] == nil {
			f.name = to
		}
	}
	return out, errors.Join(errs...)
}

// collidingHistogram names the histogram whose _count, _sum or _bucket
// series name would be name, or "".
func collidingHistogram(name string, byName map[string]*promFamily) string {
	for _, suffix := range []string{"_count", "_sum", "_bucket"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if h, ok := byName[base]; ok && h.kind == kindHistogram && len(h.series) > 0 {
			return base
		}
	}
	return ""
}

// sortSeries orders series as client_golang's MetricSorter does: by label
// count, then label values in label-name order; label names break ties so
// that duplicates end up adjacent.
func sortSeries(series []promSeries) {
	slices.SortStableFunc(series, func(a, b promSeries) int {
		if c := cmp.Compare(len(a.labels), len(b.labels)); c != 0 {
			return c
		}
		for i := range a.labels {
			if c := strings.Compare(a.labels[i].value, b.labels[i].value); c != 0 {
				return c
			}
		}
		for i := range a.labels {
			if c := strings.Compare(a.labels[i].name, b.labels[i].name); c != 0 {
				return c
			}
		}
		return 0
	})
}

func sameLabels(a, b []promLabel) bool { return slices.Equal(a, b) }

func labelString(labels []promLabel) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.name)
		b.WriteString("=")
		b.WriteString(strconv.Quote(l.value))
	}
	b.WriteByte('}')
	return b.String()
}

// kindOf returns the family type and the type otlptranslator names by.
func kindOf(data metricdata.Aggregation) (familyKind, otlptranslator.MetricType, bool) {
	switch d := data.(type) {
	case metricdata.Histogram[int64], metricdata.Histogram[float64],
		metricdata.ExponentialHistogram[int64], metricdata.ExponentialHistogram[float64]:
		return kindHistogram, otlptranslator.MetricTypeHistogram, true
	case metricdata.Sum[int64]:
		return sumKind(d.IsMonotonic)
	case metricdata.Sum[float64]:
		return sumKind(d.IsMonotonic)
	case metricdata.Gauge[int64], metricdata.Gauge[float64]:
		return kindGauge, otlptranslator.MetricTypeGauge, true
	}
	return 0, 0, false
}

func sumKind(monotonic bool) (familyKind, otlptranslator.MetricType, bool) {
	if monotonic {
		return kindCounter, otlptranslator.MetricTypeMonotonicCounter, true
	}
	return kindGauge, otlptranslator.MetricTypeNonMonotonicCounter, true
}

func (r *promRenderer) series(data metricdata.Aggregation, scope []promLabel) ([]promSeries, error) {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return valueSeries(r, d.DataPoints, scope)
	case metricdata.Sum[float64]:
		return valueSeries(r, d.DataPoints, scope)
	case metricdata.Gauge[int64]:
		return valueSeries(r, d.DataPoints, scope)
	case metricdata.Gauge[float64]:
		return valueSeries(r, d.DataPoints, scope)
	case metricdata.Histogram[int64]:
		return histogramSeries(r, d.DataPoints, scope)
	case metricdata.Histogram[float64]:
		return histogramSeries(r, d.DataPoints, scope)
	case metricdata.ExponentialHistogram[int64]:
		return exponentialSeries(r, d.DataPoints, scope)
	case metricdata.ExponentialHistogram[float64]:
		return exponentialSeries(r, d.DataPoints, scope)
	}
	return nil, nil
}

// bucketLabel is the label the writer adds to a histogram's _bucket lines.
const bucketLabel = "le"

// eachPoint makes one series of every point, its labels from attrs and the
// scope; a point that cannot be shown is left out and named in the error.
// reserved is a label name the writer adds to the family's lines itself
// ("" for none): a point whose attributes carry it is left out, since a
// line with that label twice does not parse and Prometheus would drop the
// whole scrape.
func eachPoint[P any](r *promRenderer, points []P, scope []promLabel, reserved string, attrs func(P) attribute.Set, sample func(P) (promSeries, error)) ([]promSeries, error) {
	out := make([]promSeries, 0, len(points))
	var errs []error
	for _, p := range points {
		s, err := sample(p)
		if err == nil {
			s.labels, err = r.pointLabels(attrs(p), scope)
		}
		if err == nil && reserved != "" {
			err = r.refuseLabel(attrs(p), reserved)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func valueSeries[N int64 | float64](r *promRenderer, points []metricdata.DataPoint[N], scope []promLabel) ([]promSeries, error) {
	return eachPoint(r, points, scope, "", func(dp metricdata.DataPoint[N]) attribute.Set { return dp.Attributes },
		func(dp metricdata.DataPoint[N]) (promSeries, error) { return promSeries{value: float64(dp.Value)}, nil })
}

func histogramSeries[N int64 | float64](r *promRenderer, points []metricdata.HistogramDataPoint[N], scope []promLabel) ([]promSeries, error) {
	return eachPoint(r, points, scope, bucketLabel, func(dp metricdata.HistogramDataPoint[N]) attribute.Set { return dp.Attributes },
		func(dp metricdata.HistogramDataPoint[N]) (promSeries, error) {
			if len(dp.BucketCounts) < len(dp.Bounds) {
				return promSeries{}, fmt.Errorf("a point with %d bounds and %d bucket counts is left out", len(dp.Bounds), len(dp.BucketCounts))
			}
			h, err := classicHistogram(dp.Bounds, dp.BucketCounts)
			if err != nil {
				return promSeries{}, err
			}
			h.count, h.sum = dp.Count, float64(dp.Sum)
			return promSeries{hist: h}, nil
		})
}

// classicHistogram accumulates the counts in the order of the bounds, then
// sorts the buckets by bound, a repeated bound keeping its last count: what
// client_golang's NewConstHistogram made of the map the old exporter gave
// it. The SDK's bounds are sorted and distinct, so this matters only for
// data from elsewhere (a Producer). A NaN bound has no place in the order:
// the point is left out.
func classicHistogram(bounds []float64, counts []uint64) (*promHistogram, error) {
	type bucket struct {
		bound      float64
		cumulative uint64
	}
	buckets := make([]bucket, 0, len(bounds))
	var cumulative uint64
	for i, bound := range bounds {
		if math.IsNaN(bound) {
			return nil, errors.New("a point with a NaN bucket bound is left out")
		}
		cumulative += counts[i]
		buckets = append(buckets, bucket{bound, cumulative})
	}
	slices.SortStableFunc(buckets, func(a, b bucket) int { return cmp.Compare(a.bound, b.bound) })
	h := &promHistogram{bounds: make([]float64, 0, len(buckets)), cumulative: make([]uint64, 0, len(buckets))}
	for i, b := range buckets {
		if i+1 < len(buckets) && buckets[i+1].bound == b.bound {
			continue // the last of equal bounds wins, as in a map
		}
		h.bounds = append(h.bounds, b.bound)
		h.cumulative = append(h.cumulative, b.cumulative)
	}
	return h, nil
}

// exponentialSeries shows an exponential histogram as the text format shows
// a native one: no buckets but +Inf, the sum and the count.
func exponentialSeries[N int64 | float64](r *promRenderer, points []metricdata.ExponentialHistogramDataPoint[N], scope []promLabel) ([]promSeries, error) {
	return eachPoint(r, points, scope, bucketLabel, func(dp metricdata.ExponentialHistogramDataPoint[N]) attribute.Set { return dp.Attributes },
		func(dp metricdata.ExponentialHistogramDataPoint[N]) (promSeries, error) {
			return promSeries{hist: &promHistogram{count: dp.Count, sum: float64(dp.Sum)}}, nil
		})
}

// refuseLabel returns an error naming the attribute of attrs whose label
// name is reserved, or nil.
func (r *promRenderer) refuseLabel(attrs attribute.Set, reserved string) error {
	for _, kv := range attrs.ToSlice() {
		if name, err := r.labelNamer.Build(string(kv.Key)); err == nil && name == reserved {
			return fmt.Errorf("a histogram point labelled %q (from attribute %q) is left out: the writer adds %s to its buckets", reserved, kv.Key, reserved)
		}
	}
	return nil
}

// pointLabels is a point's attributes as labels, then the scope's, sorted.
// An attribute whose label name is a scope label's loses to it, so that a
// recorded attribute cannot pass itself off as the instrumentation scope.
func (r *promRenderer) pointLabels(attrs attribute.Set, scope []promLabel) ([]promLabel, error) {
	labels, err := r.attributeLabels(attrs.ToSlice(), "")
	if err != nil {
		return nil, err
	}
	for _, s := range scope {
		i, found := slices.BinarySearchFunc(labels, s.name, func(l promLabel, name string) int { return strings.Compare(l.name, name) })
		if found {
			labels[i] = s
		} else {
			labels = slices.Insert(labels, i, s)
		}
	}
	return labels, nil
}

// attributeLabels sanitises attribute keys into label names as the old
// exporter did: keys that sanitise to one name share a label whose value is
// their values sorted and joined with ";". With a prefix (scope
// attributes), the names name, version and schema_url are skipped. Names
// Prometheus reserves ("__" prefix) are left out; values are made valid
// UTF-8. The result is sorted by name.
func (r *promRenderer) attributeLabels(attrs []attribute.KeyValue, prefix string) ([]promLabel, error) {
	labels := make([]promLabel, 0, len(attrs))
	var errs []error
	for _, kv := range attrs {
		name, err := r.labelNamer.Build(string(kv.Key))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prefix != "" {
			if name == "name" || name == "version" || name == "schema_url" {
				continue
			}
			name = prefix + name
		}
		if strings.HasPrefix(name, "__") || !validLabelName(name) {
			errs = append(errs, fmt.Errorf("label %q (from attribute %q) is reserved or invalid", name, kv.Key))
			continue
		}
		labels = append(labels, promLabel{name, kv.Value.String()})
	}
	slices.SortStableFunc(labels, func(a, b promLabel) int { return strings.Compare(a.name, b.name) })
	// Join the values of keys that sanitised to one name.
	out := labels[:0]
	for i := 0; i < len(labels); {
		j := i + 1
		for j < len(labels) && labels[j].name == labels[i].name {
			j++
		}
		l := labels[i]
		if j-i > 1 {
			values := make([]string, 0, j-i)
			for _, m := range labels[i:j] {
				values = append(values, m.value)
			}
			slices.Sort(values)
			l.value = strings.Join(values, ";")
		}
		l.value = validUTF8(l.value)
		out = append(out, l)
		i = j
	}
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	return out, nil
}

// validUTF8 replaces what is not UTF-8 in a label value or help text, which
// the text format requires (client_golang refused the scrape instead).
func validUTF8(s string) string { return strings.ToValidUTF8(s, string(utf8.RuneError)) }

// validMetricName reports whether name matches [a-zA-Z_:][a-zA-Z0-9_:]*,
// the names the text format writes without quotes.
func validMetricName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= '0' && c <= '9' && i > 0
		if !ok {
			return false
		}
	}
	return true
}

// validLabelName reports whether name matches [a-zA-Z_][a-zA-Z0-9_]*.
func validLabelName(name string) bool {
	return validMetricName(name) && !strings.Contains(name, ":")
}

// writePromText appends families in the text format 0.0.4, byte for byte as
// prometheus/common/expfmt writes them.
func writePromText(b []byte, families []*promFamily) []byte {
	for _, f := range families {
		b = append(b, "# HELP "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = appendEscaped(b, validUTF8(f.help), false)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.kind.String()...)
		b = append(b, '\n')
		for _, s := range f.series {
			if s.hist == nil {
				b = appendSample(b, f.name, "", s.labels, false, 0, s.value)
				continue
			}
			for i, bound := range s.hist.bounds {
				b = appendSample(b, f.name, "_bucket", s.labels, true, bound, float64(s.hist.cumulative[i]))
			}
			if n := len(s.hist.bounds); n == 0 || !math.IsInf(s.hist.bounds[n-1], +1) {
				b = appendSample(b, f.name, "_bucket", s.labels, true, math.Inf(+1), float64(s.hist.count))
			}
			b = appendSample(b, f.name, "_sum", s.labels, false, 0, s.hist.sum)
			b = appendSample(b, f.name, "_count", s.labels, false, 0, float64(s.hist.count))
		}
	}
	return b
}

func appendSample(b []byte, name, suffix string, labels []promLabel, withLE bool, le, value float64) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if len(labels) > 0 || withLE {
		sep := byte('{')
		for _, l := range labels {
			b = append(b, sep)
			b = append(b, l.name...)
			b = append(b, `="`...)
			b = appendEscaped(b, l.value, true)
			b = append(b, '"')
			sep = ','
		}
		if withLE {
			b = append(b, sep)
			b = append(b, `le="`...)
			b = appendFloat(b, le)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, value)
	return append(b, '\n')
}

// appendEscaped escapes \ and newline, and " in label values.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
