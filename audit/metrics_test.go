package audit

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestMetricsAreRecorded(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()

	det, err := NewDetector(DetectorConfig{Rules: []Rule{&BruteForce{Failures: 1}},
		Notifiers: []Notifier{NotifierFunc(func(context.Context, Finding) error { return nil })}, MeterProvider: mp})
	require.NoError(t, err)
	l, _ := newFileLogger(t, t.TempDir(), func(c *Config, _ *FileSinkConfig) { c.MeterProvider = mp; c.Detector = det })
	require.NoError(t, l.Log(context.Background(), event(1)))
	require.NoError(t, l.Log(context.Background(), Event{Actor: Actor{ID: "x"}, Action: "login", Outcome: Failure}))

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/keel-go/keel/audit", sm.Scope.Name)
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	require.NoError(t, l.Close())
	require.NoError(t, det.Close())

	sum := func(name string) int64 {
		s, ok := got[name].(metricdata.Sum[int64])
		require.True(t, ok, "%s is a counter", name)
		var n int64
		for _, dp := range s.DataPoints {
			n += dp.Value
		}
		return n
	}
	assert.Equal(t, int64(2), sum("keel.audit.events"))
	assert.Equal(t, int64(1), sum("keel.audit.findings"))
	h, ok := got["keel.audit.log.duration"].(metricdata.Histogram[float64])
	require.True(t, ok)
	assert.Equal(t, uint64(2), h.DataPoints[0].Count)
	assert.Contains(t, got, "keel.audit.queue.length")
	assert.Contains(t, got, "keel.audit.batch.size")
}
