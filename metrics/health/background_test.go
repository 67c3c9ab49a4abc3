package health_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/internal/gctest"
	"github.com/keel-go/keel/metrics/health"
)

func TestBackgroundCheckServesCachedResultAndNotifiesChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var healthy atomic.Bool
		var runs atomic.Int64
		r := newRegistry(t, health.Config{})
		var mu sync.Mutex
		var changes []health.Change
		r.OnChange(func(c health.Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() })

		release := make(chan struct{})
		require.NoError(t, r.Register(health.Check{Name: "db", Interval: 10 * time.Second,
			Func: func(ctx context.Context) error {
				runs.Add(1)
				<-release
				if healthy.Load() {
					return nil
				}
				return errors.New("down")
			}}))
		synctest.Wait()
		// The first run is under way: the cached result is "not yet checked".
		assert.Equal(t, "[-]db failed: not yet checked\nreadyz check failed\n", get(t, r.Readyz(), "/readyz?verbose").Body.String())
		close(release)
		synctest.Wait()

		for range 5 {
			assert.Equal(t, http.StatusServiceUnavailable, get(t, r.Readyz(), "/readyz").Code)
		}
		assert.EqualValues(t, 1, runs.Load(), "probes read the cache")

		healthy.Store(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.EqualValues(t, 2, runs.Load())
		assert.Equal(t, http.StatusOK, get(t, r.Readyz(), "/readyz").Code)

		time.Sleep(10 * time.Second) // still healthy: no new change
		synctest.Wait()
		healthy.Store(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		require.Len(t, changes, 3)
		assert.Equal(t, health.Status(""), changes[0].From)
		assert.Equal(t, health.StatusFail, changes[0].To)
		assert.Equal(t, health.StatusFail, changes[1].From)
		assert.Equal(t, health.StatusPass, changes[1].To)
		assert.NoError(t, changes[1].Err)
		assert.Equal(t, health.StatusPass, changes[2].From)
		assert.Equal(t, health.StatusFail, changes[2].To)
		assert.EqualError(t, changes[2].Err, "down")
	})
}

func TestCloseStopsBackgroundChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int64
		r, err := health.New(health.Config{})
		require.NoError(t, err)
		require.NoError(t, r.Register(health.Check{Name: "db", Interval: time.Second,
			Func: func(context.Context) error { runs.Add(1); return nil }}))
		time.Sleep(2500 * time.Millisecond)
		require.NoError(t, r.Close())
		n := runs.Load()
		assert.EqualValues(t, 3, n)
		time.Sleep(10 * time.Second)
		assert.Equal(t, n, runs.Load(), "no run after Close")
	})
}

func TestCheckMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	r := newRegistry(t, health.Config{MeterProvider: mp},
		health.Check{Name: "db", Func: pass}, health.Check{Name: "redis", Func: failing})
	r.Run(context.Background(), health.Readiness)
	r.Run(context.Background(), health.Readiness)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	assert.Equal(t, health.ScopeName, rm.ScopeMetrics[0].Scope.Name)
	byName := map[string]metricdata.Metrics{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		byName[m.Name] = m
		assert.NotEmpty(t, m.Description, m.Name)
		assert.NotEmpty(t, m.Unit, m.Name)
	}

	dur := byName["keel.health.check.duration"].Data.(metricdata.Histogram[float64])
	counts := map[string]uint64{}
	for _, p := range dur.DataPoints {
		check, _ := p.Attributes.Value("keel.health.check")
		status, _ := p.Attributes.Value("keel.health.status")
		counts[check.AsString()+"/"+status.AsString()] = p.Count
	}
	assert.Equal(t, map[string]uint64{"db/pass": 2, "redis/fail": 2}, counts)

	gauge := byName["keel.health.check.status"].Data.(metricdata.Gauge[int64])
	values := map[string]int64{}
	for _, p := range gauge.DataPoints {
		check, _ := p.Attributes.Value("keel.health.check")
		status, _ := p.Attributes.Value("keel.health.status")
		values[check.AsString()+"/"+status.AsString()] = p.Value
	}
	assert.Equal(t, map[string]int64{
		"db/pass": 1, "db/warn": 0, "db/fail": 0,
		"redis/pass": 0, "redis/warn": 0, "redis/fail": 1,
	}, values)
}

func TestAbandonedProbeIsNotRecorded(t *testing.T) {
	var changes []health.Change
	r := newRegistry(t, health.Config{}, health.Check{Name: "db",
		Func: func(ctx context.Context) error { return ctx.Err() }})
	r.OnChange(func(c health.Change) { changes = append(changes, c) })
	require.Equal(t, health.StatusPass, r.Run(context.Background(), health.Readiness).Status)

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the prober hung up
	assert.Equal(t, health.StatusFail, r.Run(ctx, health.Readiness).Status, "the response still tells the truth")
	require.Len(t, changes, 1, "but the dependency's status did not change")
	assert.Equal(t, health.StatusPass, changes[0].To)
}

// statusPoints counts the keel.health.check.status points a collection
// reports.
func statusPoints(t *testing.T, reader *sdkmetric.ManualReader) int {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "keel.health.check.status" {
				n += len(m.Data.(metricdata.Gauge[int64]).DataPoints)
			}
		}
	}
	return n
}

// A registry without background checks that its user drops without Close
// is collected and stops being reported: the status callback holds the
// checks, never the registry (docs/CONVENTIONS.md).
func TestRegistryDroppedWithoutCloseIsCollected(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	build := func() *health.Registry {
		r, err := health.New(health.Config{MeterProvider: mp})
		require.NoError(t, err)
		require.NoError(t, r.Register(health.Check{Name: "db", Func: pass}))
		r.Run(context.Background(), health.Readiness)
		return r
	}
	func() {
		r := build()
		require.Equal(t, 3, statusPoints(t, reader), "one point per status while in use")
		runtime.KeepAlive(r)
	}()
	gone := false
	for range 100 { // cleanups run after a collection, on another goroutine
		runtime.GC()
		runtime.Gosched()
		if statusPoints(t, reader) == 0 {
			gone = true
			break
		}
	}
	assert.True(t, gone, "the dropped registry is still reported")
	gctest.Collected(t, build)
}
