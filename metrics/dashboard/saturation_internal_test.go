package dashboard

import (
	"context"
	"database/sql"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/metrics/sqlmetrics"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
)

// saturationOf finds a resource's row.
func saturationOf(t *testing.T, s Snapshot, resource, name string) Saturation {
	t.Helper()
	for _, sat := range s.Saturations {
		if sat.Resource == resource && sat.Name == name {
			return sat
		}
	}
	t.Fatalf("no %s %q in %+v", resource, name, s.Saturations)
	return Saturation{}
}

func near(got Number, want, tolerance float64) bool {
	return got.Valid() && math.Abs(float64(got)-want) <= tolerance
}

// A real bulkhead whose calls in flight grow by one every 5 s sample
// (0.2/s), with one sample spiking to its limit, and a real limiter whose
// allowed rate grows by 1/s every sample: the saturation forecasts recover
// the growth despite the spike and predict the time left.
func TestSaturationOfBulkheadAndLimiter(t *testing.T) {
	d, mp := newSampled(t)
	ctx := context.Background()
	bh, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{Name: "pool", MaxInFlight: 40, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer bh.Close()
	lim, err := ratelimit.New(ratelimit.Config{Name: "api", Limit: 1000, Period: time.Second, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()

	t0 := time.Unix(1_800_000_000, 0)
	const samples = 20
	for k := range samples {
		if k > 0 {
			if err := bh.Acquire(ctx); err != nil { // one more in flight per sample
				t.Fatal(err)
			}
			for range 5 * k { // k allowed per second over the 5 s since the last sample
				if !lim.Allow() {
					t.Fatal("the limiter refused below its limit")
				}
			}
		}
		spike := k == 10
		if spike {
			for range 40 - bh.InFlight() {
				_ = bh.Acquire(ctx)
			}
		}
		d.sample(ctx, t0.Add(time.Duration(k)*5*time.Second))
		if spike {
			for bh.InFlight() > k {
				bh.Release()
			}
		}
	}
	s := d.Snapshot()

	b := saturationOf(t, s, ResourceBulkhead, "pool")
	if b.Used != samples-1 || b.Limit != 40 || !near(b.UsedRatio, 19.0/40, 1e-9) {
		t.Errorf("bulkhead used %v of %v (%v), want 19 of 40", b.Used, b.Limit, b.UsedRatio)
	}
	if !near(b.Growth.PerSecond, 0.2, 1e-9) {
		t.Errorf("bulkhead growth %v/s, want 0.2 despite the spike", b.Growth.PerSecond)
	}
	// 21 calls left at 0.2/s: 105 s.
	if !near(b.SecondsToSaturation, 105, 1e-6) {
		t.Errorf("bulkhead saturates in %v s, want 105", b.SecondsToSaturation)
	}
	if !(b.EarliestSecondsToSaturation <= b.SecondsToSaturation && b.SecondsToSaturation <= b.LatestSecondsToSaturation) {
		t.Errorf("bulkhead band [%v, %v] does not hold %v", b.EarliestSecondsToSaturation, b.LatestSecondsToSaturation, b.SecondsToSaturation)
	}

	l := saturationOf(t, s, ResourceRateLimit, "api")
	if l.Limit != 1000 || l.Used != samples-1 {
		t.Errorf("limiter at %v of %v/s, want 19 of 1000", l.Used, l.Limit)
	}
	// 981/s left at 1/s every 5 s (0.2/s²): 4905 s.
	if !near(l.Growth.PerSecond, 0.2, 1e-9) || !near(l.SecondsToSaturation, 4905, 1e-6) {
		t.Errorf("limiter growth %v, saturation in %v s, want 0.2 and 4905", l.Growth.PerSecond, l.SecondsToSaturation)
	}

	// The rows show the limits too.
	for _, r := range s.RateLimits {
		switch r.Name {
		case "pool":
			if r.MaxInFlight != 40 || r.RateLimitPerSecond.Valid() {
				t.Errorf("bulkhead row %+v, want max in flight 40 and no rate", r)
			}
		case "api":
			if r.RateLimitPerSecond != 1000 || r.MaxInFlight.Valid() {
				t.Errorf("limiter row %+v, want a rate of 1000/s and no max in flight", r)
			}
		}
	}

	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dash/", nil))
	if page := rec.Body.String(); !strings.Contains(page, "<h2>Saturation") || !strings.Contains(page, "<td>bulkhead</td><td>pool</td>") {
		t.Errorf("the page lacks the saturation table:\n%s", page)
	}

	// The exported gauges carry the same numbers.
	got := exportedSaturations(t, d)
	if !near(Number(got["bulkhead/pool"]), 105, 1e-6) || !near(Number(got["rate_limit/api"]), 4905, 1e-6) {
		t.Errorf("exported saturations %v", got)
	}
}

// exportedSaturations collects keel.dashboard.saturation.seconds from the
// dashboard's gauges registered on a provider of their own, by
// "resource/name".
func exportedSaturations(t *testing.T, d *Dashboard) map[string]float64 {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	reg, err := d.exportForecasts(mp)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[float64]); ok && m.Name == "keel.dashboard.saturation.seconds" {
				for _, p := range g.DataPoints {
					r, _ := p.Attributes.Value("keel.dashboard.resource")
					n, _ := p.Attributes.Value("keel.dashboard.name")
					out[r.AsString()+"/"+n.AsString()] = p.Value
				}
			}
		}
	}
	return out
}

// A real SQLite pool of at most 8 connections, one more held at every
// sample: its saturation is forecast from db.client.connection.count
// (used) against db.client.connection.max.
func TestSaturationOfDBPool(t *testing.T) {
	d, mp := newSampled(t)
	ctx := context.Background()
	db, err := sqlmetrics.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "sat.db"), sqlmetrics.Config{
		System: "sqlite", PoolName: "orders", MeterProvider: mp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(8)
	var held []*sql.Conn
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	t0 := time.Unix(1_800_000_000, 0)
	for k := range 6 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		d.sample(ctx, t0.Add(time.Duration(k)*10*time.Second))
	}
	p := saturationOf(t, d.Snapshot(), ResourceDBPool, "orders")
	// 6 of 8 in use, one more every 10 s: 20 s left.
	if p.Used != 6 || p.Limit != 8 || !near(p.Growth.PerSecond, 0.1, 1e-9) || !near(p.SecondsToSaturation, 20, 1e-6) {
		t.Errorf("pool %+v, want 6 of 8, 0.1/s, saturated in 20 s", p)
	}
	if !near(p.EarliestSecondsToSaturation, 20, 1e-6) || !near(p.LatestSecondsToSaturation, 20, 1e-6) {
		t.Errorf("pool band [%v, %v], want 20 at both ends of an exact line", p.EarliestSecondsToSaturation, p.LatestSecondsToSaturation)
	}
}

// Config.DiskPaths: the file system holding a real directory is sampled and
// its row shows its size and use; a path that cannot be read is refused.
func TestDiskPaths(t *testing.T) {
	dir := t.TempDir()
	d, err := New(Config{Public: true, Interval: time.Hour, History: 100 * time.Hour, RateWindow: time.Hour, DiskPaths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	used, size, err := diskUsage(dir)
	if err != nil || size == 0 || used > size {
		t.Fatalf("disk usage of %s: %d of %d, %v", dir, used, size, err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	for k := range 3 {
		recordAt(d, t0.Add(time.Duration(k)*time.Minute))
	}
	s := saturationOf(t, d.Snapshot(), ResourceDisk, dir)
	if float64(s.Limit) != float64(size) || !(s.Used > 0 && s.Used <= s.Limit) || !(s.UsedRatio > 0 && s.UsedRatio <= 1) {
		t.Errorf("disk row %+v, want the size %d and a use within it", s, size)
	}
	if s.Growth.Points != 3 {
		t.Errorf("disk growth fitted over %d points, want 3", s.Growth.Points)
	}

	for _, bad := range [][]string{{""}, {filepath.Join(dir, "missing")}} {
		if _, err := New(Config{Public: true, DiskPaths: bad}); err == nil || !strings.Contains(err.Error(), "Config.DiskPaths[0]") {
			t.Errorf("DiskPaths %q: %v, want an error naming Config.DiskPaths[0]", bad, err)
		}
	}
}

// recordAt takes a sample holding the disks only, as the sampler does
// after its collection.
func recordAt(d *Dashboard, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.version++
	d.hist.begin(now)
	recordDisks(d.hist, d.disks)
	d.hist.end()
}

// A real adaptive limiter (ratelimit/adaptive) shows in the rate-limit rows
// from its own instruments: its decisions, calls in flight and the limit it
// settled on.
func TestAdaptiveLimiterRow(t *testing.T) {
	d, mp := newSampled(t)
	ctx := context.Background()
	l, err := adaptive.New(adaptive.Config{Name: "checkout", InitialLimit: 8, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	d.sample(ctx, t0)
	p, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	d.sample(ctx, t0.Add(10*time.Second))
	for _, r := range d.Snapshot().RateLimits {
		if r.Name != "checkout" {
			continue
		}
		if r.InFlight != 1 || r.MaxInFlight != Number(l.Limit()) || !near(r.AllowedPerSecond, 0.1, 1e-9) {
			t.Errorf("adaptive row %+v, want 1 in flight of %d, 1 allowed in 10 s", r, l.Limit())
		}
		return
	}
	t.Fatalf("no row for the adaptive limiter in %+v", d.Snapshot().RateLimits)
}
