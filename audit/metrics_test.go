package audit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestMetricsAreRecorded(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()

	var seen observed
	l, _ := newFileLogger(t, t.TempDir(), func(c *Config, _ *FileSinkConfig) { c.MeterProvider = mp; c.Observer = &seen })
	require.NoError(t, l.Log(context.Background(), event(1)))
	require.NoError(t, l.Log(context.Background(), Event{Actor: Actor{ID: "x"}, Action: "login", Outcome: Failure}))
	assert.Equal(t, []string{"license.update", "login"}, seen.actions(), "the Observer sees each persisted event, in order")

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
	h, ok := got["keel.audit.log.duration"].(metricdata.Histogram[float64])
	require.True(t, ok)
	assert.Equal(t, uint64(2), h.DataPoints[0].Count)
	assert.Contains(t, got, "keel.audit.queue.length")
	assert.Contains(t, got, "keel.audit.batch.size")
}

func TestCheckpointAndWitnessSeqGauges(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
	fw, err := NewFileWitness(t.TempDir() + "/w")
	require.NoError(t, err)
	w := &flakyWitness{inner: fw}
	l, err := witnessedLogger(t, t.TempDir(), w, func(c *Config) { c.MeterProvider = mp; c.CheckpointEvery = 3 })
	require.NoError(t, err)
	gauges := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Gauge[int64]:
					for _, dp := range d.DataPoints {
						if _, ok := dp.Attributes.Value("keel.audit.log.id"); ok {
							out[m.Name] = dp.Value
						}
					}
				case metricdata.Sum[int64]:
					if m.Name == "keel.audit.witness.errors" {
						out[m.Name] = d.DataPoints[0].Value
					}
				}
			}
		}
		return out
	}
	logEvents(t, l, 3) // events 1..3, count checkpoint 4
	require.Eventually(t, func() bool { return gauges()["keel.audit.witness.seq"] == 4 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int64(4), gauges()["keel.audit.checkpoint.seq"])
	w.fail.Store(true)
	logEvents(t, l, 3) // checkpoint 8, not witnessed
	require.Eventually(t, func() bool { return gauges()["keel.audit.witness.errors"] == 1 }, 5*time.Second, time.Millisecond)
	g := gauges()
	assert.Equal(t, int64(8), g["keel.audit.checkpoint.seq"])
	assert.Equal(t, int64(4), g["keel.audit.witness.seq"], "the witness lags while it fails")
	w.fail.Store(false)
	require.NoError(t, l.Close())
}

// observed is an Observer that remembers the actions it saw.
type observed struct {
	mu   sync.Mutex
	seen []string
}

func (o *observed) Observe(e Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, e.Action)
}

func (o *observed) actions() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}
