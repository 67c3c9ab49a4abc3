package alert

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// histogramVisitor receives one cumulative histogram point.
type histogramVisitor func(attrs attribute.Set, count uint64, bounds []float64, counts []uint64, start time.Time)

// forEachHistogramPoint calls fn for each cumulative explicit-bucket
// histogram point of the named metric, in every scope. Delta points are
// skipped: windows are computed from cumulative totals, so the reader must
// use cumulative temporality (the ManualReader default).
func forEachHistogramPoint(rm *metricdata.ResourceMetrics, name string, fn histogramVisitor) {
	for _, m := range metricsNamed(rm, name) {
		switch h := m.Data.(type) {
		case metricdata.Histogram[float64]:
			visitHistogram(h, fn)
		case metricdata.Histogram[int64]:
			visitHistogram(h, fn)
		}
	}
}

func visitHistogram[N int64 | float64](h metricdata.Histogram[N], fn histogramVisitor) {
	if h.Temporality != metricdata.CumulativeTemporality {
		return
	}
	for _, p := range h.DataPoints {
		fn(p.Attributes, p.Count, p.Bounds, p.BucketCounts, p.StartTime)
	}
}

// forEachValue calls fn for each gauge or sum point of the named metric.
func forEachValue(rm *metricdata.ResourceMetrics, name string, fn func(attrs attribute.Set, v float64)) {
	for _, m := range metricsNamed(rm, name) {
		switch d := m.Data.(type) {
		case metricdata.Gauge[int64]:
			visitPoints(d.DataPoints, fn)
		case metricdata.Gauge[float64]:
			visitPoints(d.DataPoints, fn)
		case metricdata.Sum[int64]:
			visitPoints(d.DataPoints, fn)
		case metricdata.Sum[float64]:
			visitPoints(d.DataPoints, fn)
		}
	}
}

func visitPoints[N int64 | float64](points []metricdata.DataPoint[N], fn func(attrs attribute.Set, v float64)) {
	for _, p := range points {
		fn(p.Attributes, float64(p.Value))
	}
}

// metricsNamed returns the named metric from every scope.
func metricsNamed(rm *metricdata.ResourceMetrics, name string) []metricdata.Metrics {
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				out = append(out, m)
			}
		}
	}
	return out
}
