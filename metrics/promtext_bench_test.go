//go:build unix

package metrics

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func processCPUNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkScrape serves one scrape of the same data through the old
// exporter stack (OpenTelemetry Prometheus exporter, client_golang registry,
// promhttp) and through Keel's exposition. Run with -count to alternate the
// two in one binary; cpu-ns/op is the process's CPU time per scrape.
//
// keel-metrics is every documented metric after a little traffic (about 80
// families); routes adds 500 http.server.request.duration series (500
// routes of a histogram of 15 buckets), the size of a larger service.
func BenchmarkScrape(b *testing.B) {
	res, scopes := keelScopes(b)
	routes := append([]metricdata.ScopeMetrics(nil), scopes...)
	routes = append(routes, routeScope(500))
	for _, data := range []struct {
		name   string
		scopes []metricdata.ScopeMetrics
	}{{"keel-metrics", scopes}, {"routes=500", routes}} {
		r := newRenderers(b, res, data.scopes)
		for _, h := range []struct {
			name    string
			handler http.Handler
		}{{"otel-prometheus", r.old}, {"keel", r.keel}} {
			b.Run(fmt.Sprintf("data=%s/exposition=%s", data.name, h.name), func(b *testing.B) {
				if rec := scrape(h.handler, nil); rec.Code != http.StatusOK {
					b.Fatalf("scrape: %d %s", rec.Code, rec.Body)
				}
				b.ReportAllocs()
				cpu := processCPUNanos()
				for b.Loop() {
					scrape(h.handler, nil)
				}
				b.ReportMetric(float64(processCPUNanos()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

func routeScope(n int) metricdata.ScopeMetrics {
	bounds := DurationBuckets()
	points := make([]metricdata.HistogramDataPoint[float64], n)
	for i := range points {
		counts := make([]uint64, len(bounds)+1)
		for j := range counts {
			counts[j] = uint64(i + j)
		}
		points[i] = metricdata.HistogramDataPoint[float64]{
			Attributes: attribute.NewSet(
				attribute.String("http.request.method", "GET"), attribute.String("http.route", fmt.Sprintf("/api/v1/r%d/{id}", i)),
				attribute.Int("http.response.status_code", 200), attribute.String("url.scheme", "https"),
				attribute.String("network.protocol.version", "1.1")),
			Bounds: bounds, BucketCounts: counts, Count: uint64(n), Sum: 1.25, Time: time.Unix(1_800_000_000, 0),
		}
	}
	return metricdata.ScopeMetrics{
		Scope: instrumentation.Scope{Name: "bench/routes"},
		Metrics: []metricdata.Metrics{{Name: "http.server.request.duration", Unit: "s",
			Description: "Duration of HTTP server requests.",
			Data:        metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: points}}},
	}
}
