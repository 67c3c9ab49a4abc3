package backup_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/backup"
)

func TestMetricsRecordResultsBytesAndLastSuccess(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	f := newFixture(t, func(c *backup.Config) { c.MeterProvider = mp })
	ctx := context.Background()
	m, err := f.repo.Create(ctx)
	require.NoError(t, err)
	f.src.failAfter = 10
	_, err = f.repo.Create(ctx)
	require.Error(t, err)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	assert.Equal(t, "github.com/keel-go/keel/backup", rm.ScopeMetrics[0].Scope.Name)
	got := map[string]metricdata.Metrics{}
	for _, mt := range rm.ScopeMetrics[0].Metrics {
		got[mt.Name] = mt
	}
	ops := got["keel.backup.operations"].Data.(metricdata.Sum[int64])
	results := map[string]int64{}
	for _, dp := range ops.DataPoints {
		r, _ := dp.Attributes.Value(attribute.Key("keel.backup.result"))
		d, _ := dp.Attributes.Value(attribute.Key("keel.backup.driver"))
		assert.Equal(t, "mem", d.AsString())
		results[r.AsString()] += dp.Value
	}
	assert.Equal(t, map[string]int64{"success": 1, "failure": 1}, results)

	bytesByStage := map[string]int64{}
	for _, dp := range got["keel.backup.bytes"].Data.(metricdata.Sum[int64]).DataPoints {
		s, _ := dp.Attributes.Value(attribute.Key("keel.backup.stage"))
		bytesByStage[s.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{"raw": m.RawSize, "stored": m.StoredSize}, bytesByStage)

	last := got["keel.backup.last_success"].Data.(metricdata.Gauge[float64])
	require.Len(t, last.DataPoints, 1)
	assert.InDelta(t, float64(m.FinishedAt.Unix()), last.DataPoints[0].Value, 5)
	assert.Equal(t, "s", got["keel.backup.last_success"].Unit)
	assert.Equal(t, "s", got["keel.backup.duration"].Unit)
}

func TestLatestIsTheNewestWithinOneSecond(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var last *backup.Manifest
	for range 6 {
		m, err := f.repo.Create(ctx)
		require.NoError(t, err)
		last = m
	}
	got, err := f.repo.Latest(ctx)
	require.NoError(t, err)
	assert.Equal(t, last.ID, got.ID)
}
