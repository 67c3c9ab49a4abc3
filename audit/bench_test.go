package audit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// loggers is how many goroutines log at once in the concurrent benchmarks
// (RunParallel starts parallelism × GOMAXPROCS of them).
const loggers = 64

// latencies gathers per-call durations from RunParallel goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	if len(l.all) == 0 {
		return
	}
	slices.Sort(l.all)
	p99 := l.all[min(len(l.all)-1, len(l.all)*99/100)]
	b.ReportMetric(float64(p99.Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(len(l.all))/elapsed.Seconds(), "events/s")
}

func parallel(b *testing.B, logOne func() error) {
	b.SetParallelism(max(1, loggers/max(1, runtime.GOMAXPROCS(0))))
	var lat latencies
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t := time.Now()
			if err := logOne(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
		}
		lat.add(mine)
	})
	elapsed := time.Since(start)
	b.StopTimer()
	lat.report(b, elapsed)
}

// naiveLog is the baseline: encode, write and fsync each event under a
// lock, as an audit log without group commit does.
type naiveLog struct {
	mu sync.Mutex
	f  *os.File
}

func (n *naiveLog) log(e Event) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.f.Write(append(line, '\n')); err != nil {
		return err
	}
	return n.f.Sync()
}

// BenchmarkDurableConcurrent compares 64 concurrent durable loggers sharing
// fsyncs (group commit) with a write+fsync per event, in one run.
func BenchmarkDurableConcurrent(b *testing.B) {
	b.Run("impl=keel-group-commit", func(b *testing.B) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		l, _ := newFileLogger(b, b.TempDir(), func(c *Config, _ *FileSinkConfig) { c.MeterProvider = mp })
		e := event(1)
		parallel(b, func() error { return l.Log(context.Background(), e) })
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		reportEventsPerFsync(b, reader)
	})
	b.Run("impl=naive-fsync-per-event", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "naive.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		n := &naiveLog{f: f}
		e := event(1)
		parallel(b, func() error { return n.log(e) })
	})
}

// BenchmarkBuffered measures buffered-mode throughput with 64 loggers; the
// timing includes Close, which writes and fsyncs what is queued.
func BenchmarkBuffered(b *testing.B) {
	l, _ := newFileLogger(b, b.TempDir(), func(c *Config, _ *FileSinkConfig) { c.Mode = Buffered })
	e := event(1)
	b.SetParallelism(max(1, loggers/max(1, runtime.GOMAXPROCS(0))))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Log(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkLogAllocs is one goroutine logging in buffered mode: its
// allocs/op is the allocations per event, writer included.
func BenchmarkLogAllocs(b *testing.B) {
	l, _ := newFileLogger(b, b.TempDir(), func(c *Config, _ *FileSinkConfig) { c.Mode = Buffered })
	e := event(1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := l.Log(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// reportEventsPerFsync reports the mean durable batch size (events sharing
// one fsync), read from the keel.audit.batch.size histogram.
func reportEventsPerFsync(b *testing.B, reader *sdkmetric.ManualReader) {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		b.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[int64]); ok && m.Name == "keel.audit.batch.size" && len(h.DataPoints) > 0 {
				dp := h.DataPoints[0]
				b.ReportMetric(float64(dp.Sum)/float64(dp.Count), "events/fsync")
			}
		}
	}
}
