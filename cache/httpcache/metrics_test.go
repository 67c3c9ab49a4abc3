package httpcache

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/internal/gctest"
)

func TestMetricsAreReported(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	f := newFixture(t, Config{MeterProvider: mp, Name: "reports"}, reply(200, "max-age=60", "x"))
	f.do("GET", "/r")
	etag := f.do("GET", "/r").Header().Get("ETag")
	f.do("GET", "/r", "If-None-Match", etag)
	f.do("GET", "/r", "Range", "bytes=0-0")
	f.m.InvalidateTags("a", "b")
	f.m.InvalidatePrefix("/r")

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, scope, sm.Scope.Name)
		for _, m := range sm.Metrics {
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			}
			for _, p := range points {
				name, _ := p.Attributes.Value("keel.httpcache.name")
				assert.Equal(t, "reports", name.AsString())
				key := m.Name
				for _, a := range []attribute.Key{"keel.httpcache.result", "keel.httpcache.decision", "keel.httpcache.kind"} {
					if v, ok := p.Attributes.Value(a); ok {
						key += "{" + v.AsString() + "}"
					}
				}
				got[key] = p.Value
			}
		}
	}
	assert.EqualValues(t, 1, got["keel.httpcache.requests{miss}"])
	assert.EqualValues(t, 2, got["keel.httpcache.requests{hit}"])
	assert.EqualValues(t, 1, got["keel.httpcache.requests{bypass}"])
	assert.EqualValues(t, 1, got["keel.httpcache.responses{stored}"])
	assert.EqualValues(t, 1, got["keel.httpcache.not_modified"])
	revalidated, reported := got["keel.httpcache.revalidated"]
	assert.True(t, reported, "revalidated is reported, 0 included")
	assert.Zero(t, revalidated, "nothing was stale")
	assert.EqualValues(t, 2, got["keel.httpcache.invalidations{tag}"])
	assert.EqualValues(t, 1, got["keel.httpcache.invalidations{prefix}"])
	assert.EqualValues(t, 2, got["keel.httpcache.entries"], "the response and the URL's variants record")
	assert.Positive(t, got["keel.httpcache.size"])
}

// The metric callback does not keep a dropped Middleware alive.
func TestDroppedMiddlewareIsCollected(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	gctest.Collected(t, func() *Middleware {
		m, err := New(Config{MeterProvider: mp, CleanupInterval: -1})
		require.NoError(t, err)
		return m
	})
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	_ = http.StatusOK
}
