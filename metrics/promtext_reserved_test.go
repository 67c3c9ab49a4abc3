package metrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// TestHistogramPointLabelledLeIsLeftOut: a histogram point with an attribute
// named le would be written with two le labels on its _bucket lines, which
// Prometheus refuses to parse, dropping the whole target (the old exporter
// wrote exactly that). The point is left out and named in the error; the
// histogram's other points and a gauge labelled le (legal there) stay.
func TestHistogramPointLabelledLeIsLeftOut(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	hist := func(kv ...attribute.KeyValue) metricdata.HistogramDataPoint[float64] {
		return metricdata.HistogramDataPoint[float64]{Attributes: attribute.NewSet(kv...), Time: now, Count: 1, Sum: 1, Bounds: []float64{1}, BucketCounts: []uint64{1, 0}}
	}
	expo := func(kv ...attribute.KeyValue) metricdata.ExponentialHistogramDataPoint[int64] {
		return metricdata.ExponentialHistogramDataPoint[int64]{Attributes: attribute.NewSet(kv...), Time: now, Count: 1, Sum: 1, ZeroCount: 1}
	}
	scopes := []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: "s"},
		Metrics: []metricdata.Metrics{
			{Name: "lat", Data: metricdata.Histogram[float64]{DataPoints: []metricdata.HistogramDataPoint[float64]{
				hist(attribute.String("le", "x")), hist(attribute.String("route", "/a")),
			}}},
			{Name: "size", Data: metricdata.ExponentialHistogram[int64]{DataPoints: []metricdata.ExponentialHistogramDataPoint[int64]{
				expo(attribute.String("le", "y")), expo(attribute.String("route", "/b")),
			}}},
			{Name: "level", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
				{Attributes: attribute.NewSet(attribute.String("le", "z")), Value: 3, Time: now},
			}}},
		},
	}}
	families, err := newPromRenderer().families(&metricdata.ResourceMetrics{Resource: resource.Empty(), ScopeMetrics: scopes})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `lat: a histogram point labelled "le" (from attribute "le") is left out`)
	assert.Contains(t, err.Error(), `size: a histogram point labelled "le" (from attribute "le") is left out`)

	fams := parseText(t, string(writePromText(nil, families)))
	for name, route := range map[string]string{"lat": "/a", "size": "/b"} {
		require.Contains(t, fams, name)
		require.Len(t, fams[name].GetMetric(), 1, "%s: only the point without le", name)
		assert.Equal(t, route, labelValue(fams[name].GetMetric()[0], "route"))
	}
	require.Contains(t, fams, "level")
	assert.Equal(t, "z", labelValue(fams["level"].GetMetric()[0], "le"), "a gauge may carry le")

	// Through the handler: the reference exporter serves the text that does
	// not parse; Keel's parses.
	r := newRenderers(t, resource.Empty(), scopes)
	assert.Contains(t, scrape(r.old, nil).Body.String(), `lat_bucket{le="x",`)
	body := scrape(r.keel, nil).Body.String()
	assert.NotContains(t, body, `le="x"`)
	assert.NotContains(t, body, `le="y"`)
	parseText(t, body)
}
