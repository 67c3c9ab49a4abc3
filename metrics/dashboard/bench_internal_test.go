package dashboard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// benchDashboard has 800 counter series and 200 histogram series (the HTTP
// duration buckets) on its reader: 1 000 series.
func benchDashboard(b *testing.B) (*Dashboard, *sdkmetric.MeterProvider, func()) {
	d, err := New(Config{Public: true, MaxSeries: 1000, Interval: time.Hour, History: 720 * time.Hour, RateWindow: 12 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(d.Option())
	m := mp.Meter("bench")
	var n int64
	_, err = m.Int64ObservableCounter("keel.breaker.calls", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		n++
		for i := range 800 {
			o.Observe(n+int64(i), metric.WithAttributes(attribute.String("keel.breaker.name", fmt.Sprint("dep", i/4)),
				attribute.String("keel.breaker.outcome", fmt.Sprint("o", i%4))))
		}
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	h, err := m.Float64Histogram("http.server.request.duration", metric.WithExplicitBucketBoundaries(
		0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		h.Record(context.Background(), 0.03, metric.WithAttributes(attribute.String("http.route", fmt.Sprint("/r", i))))
	}
	return d, mp, func() { _ = d.Close(); _ = mp.Shutdown(context.Background()) }
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSample1000Series compares one sample (collection plus writing the
// ring) with the SDK collection alone, in the same run: the difference is
// the dashboard's own cost. Run with -count to alternate the two.
func BenchmarkSample1000Series(b *testing.B) {
	d, mp, done := benchDashboard(b)
	defer done()
	ctx := context.Background()
	b.Run("collect-only", func(b *testing.B) {
		var rm metricdata.ResourceMetrics
		b.ReportAllocs()
		cpu := cpuNanos()
		for b.Loop() {
			if err := d.reader.Collect(ctx, &rm); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N), "cpu-ns/op")
	})
	sampleLoop := func(b *testing.B) {
		now := time.Now()
		b.ReportAllocs()
		cpu := cpuNanos()
		for b.Loop() {
			now = now.Add(time.Hour)
			d.sample(ctx, now)
		}
		b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N), "cpu-ns/op")
	}
	b.Run("sample", func(b *testing.B) {
		sampleLoop(b)
		if len(d.hist.series) != 1000 {
			b.Fatalf("%d series, want 1000", len(d.hist.series))
		}
	})
	// The forecast and saturation gauges registered on the provider the
	// dashboard reads (as with metrics.Setup, whose provider is the otel
	// global): their callback runs in every sample's collection.
	b.Run("sample-with-exported-gauges", func(b *testing.B) {
		reg, err := d.exportForecasts(mp)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = reg.Unregister() }()
		sampleLoop(b)
	})
}

// fullRing is benchDashboard with the ring filled: 720 samples, an hour
// apart, of the 1 000 series.
func fullRing(b *testing.B) (*Dashboard, time.Time, func()) {
	d, _, done := benchDashboard(b)
	now := time.Now()
	for range 720 {
		now = now.Add(time.Hour)
		d.sample(context.Background(), now)
	}
	return d, now, done
}

// BenchmarkAPI1000SeriesFullRing serves the JSON API with 1 000 series and a
// full ring of 720 samples.
//
//   - build: computing the views and encoding the document, what a request
//     costs when nobody polled recently (the first poll after an idle spell).
//   - poll: a client polling once per sample, as the page does. Each round
//     takes a sample (the sampler then builds the document, as it does while
//     the API is watched) and times one request; p50-ns and p99-ns are the
//     request's wall-time quantiles over the rounds, cpu-p50-ns and
//     cpu-p99-ns those of the process CPU time during each request. ns/op includes the untimed sample and
//     build and is not the request's cost.
func BenchmarkAPI1000SeriesFullRing(b *testing.B) {
	b.Run("build", func(b *testing.B) {
		d, _, done := fullRing(b)
		defer done()
		b.ReportAllocs()
		cpu := cpuNanos()
		for b.Loop() {
			body, _, err := d.api.rebuild(d)
			if err != nil || len(body) == 0 {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N), "cpu-ns/op")
		body, gzipped, _ := d.api.rebuild(d)
		b.ReportMetric(float64(len(body)), "body-bytes")
		b.ReportMetric(float64(len(gzipped)), "gzip-bytes")
	})
	b.Run("poll", func(b *testing.B) {
		d, now, done := fullRing(b)
		defer done()
		req := httptest.NewRequest(http.MethodGet, "/d/api", nil)
		// A discarding writer, as a server's connection is: an
		// httptest.ResponseRecorder would copy the 1.2 MB body into a
		// growing buffer on every poll, a cost of the recorder (and the
		// garbage collection it triggers), not of the handler.
		w := &discardWriter{header: http.Header{}}
		serve := func() {
			clear(w.header)
			w.status, w.written = 0, 0
			d.ServeHTTP(w, req)
			if w.status != http.StatusOK || w.written == 0 {
				b.Fatal(w.status, w.written)
			}
		}
		measurePolls(b, d, now, serve)
	})
	// poll-http is the same poll over a real loopback connection: a
	// server, a client reading the whole body. Its CPU figures are the
	// process's, so they include the client's read.
	b.Run("poll-http", func(b *testing.B) {
		d, now, done := fullRing(b)
		defer done()
		srv := httptest.NewServer(d)
		defer srv.Close()
		client := srv.Client()
		serve := func() {
			resp, err := client.Get(srv.URL + "/d/api")
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || n == 0 {
				b.Fatal(resp.StatusCode, n, err)
			}
		}
		measurePolls(b, d, now, serve)
	})
}

// measurePolls times serve after each new sample, as a polling page meets
// the API: the sampler has built the document ahead (the client watches),
// and the request is timed alone. It reports the median and p99 of wall
// and process CPU time.
func measurePolls(b *testing.B, d *Dashboard, now time.Time, serve func()) {
	serve() // the client starts watching
	var walls []time.Duration
	var cpus []int64
	for b.Loop() {
		now = now.Add(time.Hour)
		d.sample(context.Background(), now)
		d.api.refreshIfWatched(d, time.Now())
		c0, t0 := cpuNanos(), time.Now()
		serve()
		walls = append(walls, time.Since(t0))
		cpus = append(cpus, cpuNanos()-c0)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	p99 := (len(walls) * 99) / 100
	b.ReportMetric(float64(walls[len(walls)/2]), "p50-ns")
	b.ReportMetric(float64(walls[p99]), "p99-ns")
	b.ReportMetric(float64(cpus[len(cpus)/2]), "cpu-p50-ns")
	b.ReportMetric(float64(cpus[p99]), "cpu-p99-ns")
}

// BenchmarkFitRobust720 fits a full default ring (720 samples, thinned to
// MaxTrendPoints) with reused buffers, as a snapshot does for every growth
// and saturation row.
func BenchmarkFitRobust720(b *testing.B) {
	t0 := time.Unix(1_800_000_000, 0)
	times, values := make([]time.Time, 720), make([]float64, 720)
	for i := range times {
		times[i] = t0.Add(time.Duration(i) * DefaultInterval)
		values[i] = float64(i) + float64(i%7)
	}
	f := new(fitter)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fitSeries(f, times, values); err != nil {
			b.Fatal(err)
		}
	}
}

// discardWriter is an http.ResponseWriter that keeps the status and the
// number of body bytes and drops the bytes.
type discardWriter struct {
	header  http.Header
	status  int
	written int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.written += len(p)
	return len(p), nil
}
