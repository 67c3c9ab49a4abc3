//go:build linux

package metrics_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/metrics"
)

// TestProcessMetricsReadThisProcess: the values are this process's own:
// CPU time spent, resident memory, and a file descriptor the test opens
// shows in the count.
func TestProcessMetricsReadThisProcess(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	tel, err := metrics.Setup(context.Background(), metrics.Config{DisableGlobal: true, DisablePrometheus: true,
		DisableRuntimeMetrics: true, Readers: []sdkmetric.Reader{reader}})
	require.NoError(t, err)
	defer tel.Shutdown(context.Background())

	collect := func() (cpu float64, rss, fds int64) {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch m.Name {
				case "process.cpu.time":
					for _, p := range m.Data.(metricdata.Sum[float64]).DataPoints {
						cpu += p.Value
					}
				case "process.memory.usage":
					rss = m.Data.(metricdata.Sum[int64]).DataPoints[0].Value
				case "process.unix.file_descriptor.count":
					fds = m.Data.(metricdata.Sum[int64]).DataPoints[0].Value
				}
			}
		}
		return cpu, rss, fds
	}
	_, rss, before := collect()
	assert.Greater(t, rss, int64(1<<20), "a Go test binary holds more than 1 MiB resident")
	var files []*os.File
	for i := 0; i < 5; i++ {
		f, err := os.Open(os.Args[0])
		require.NoError(t, err)
		files = append(files, f)
	}
	// Burn measurable CPU (the clock ticks at 10 ms).
	x := 0
	for i := 0; i < 200_000_000; i++ {
		x += i % 7
	}
	cpu, _, after := collect()
	for _, f := range files {
		_ = f.Close()
	}
	assert.Equal(t, before+5, after, "five more open files")
	assert.Greater(t, cpu, 0.0)
	_ = x
}
