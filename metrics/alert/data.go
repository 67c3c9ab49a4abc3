package alert

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// forEachHistogramPoint calls fn for each cumulative explicit-bucket
// histogram point of the named metric, in every scope. Delta points are
// skipped: windows are computed from cumulative totals, so the reader must
// use cumulative temporality (the ManualReader default).
func forEachHistogramPoint(rm *metricdata.ResourceMetrics, name string,
	fn func(attrs attribute.Set, count uint64, bounds []float64, counts []uint64, start time.Time)) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch h := m.Data.(type) {
			case metricdata.Histogram[float64]:
				if h.Temporality != metricdata.CumulativeTemporality {
					continue
				}
				for _, p := range h.DataPoints {
					fn(p.Attributes, p.Count, p.Bounds, p.BucketCounts, p.StartTime)
				}
			case metricdata.Histogram[int64]:
				if h.Temporality != metricdata.CumulativeTemporality {
					continue
				}
				for _, p := range h.DataPoints {
					fn(p.Attributes, p.Count, p.Bounds, p.BucketCounts, p.StartTime)
				}
			}
		}
	}
}

// forEachValue calls fn for each gauge or sum point of the named metric.
func forEachValue(rm *metricdata.ResourceMetrics, name string, fn func(attrs attribute.Set, v float64)) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					fn(p.Attributes, float64(p.Value))
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					fn(p.Attributes, p.Value)
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					fn(p.Attributes, float64(p.Value))
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					fn(p.Attributes, p.Value)
				}
			}
		}
	}
}
