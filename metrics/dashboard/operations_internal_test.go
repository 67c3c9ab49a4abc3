package dashboard

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	_ "modernc.org/sqlite"

	"github.com/keel-go/keel/metrics/sqlmetrics"
)

// newSampled returns a dashboard sampled by hand (its own ticker runs every
// hour) and a MeterProvider feeding it.
func newSampled(t *testing.T) (*Dashboard, *sdkmetric.MeterProvider) {
	t.Helper()
	d, err := New(Config{Public: true, Interval: time.Hour, History: 100 * time.Hour, RateWindow: 10 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(d.Option())
	t.Cleanup(func() { _ = d.Close(); _ = mp.Shutdown(context.Background()) })
	return d, mp
}

// A real SQLite database behind metrics/sqlmetrics: the statement that took
// the most time in total heads the slow-query ranking, with its slow count,
// and the pool is shown.
func TestSlowQueriesFromSQLMetrics(t *testing.T) {
	d, mp := newSampled(t)
	ctx := context.Background()
	db, err := sqlmetrics.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "dash20.db"), sqlmetrics.Config{
		System: "sqlite", MeterProvider: mp, SlowQueryThreshold: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	for _, stmt := range []string{"CREATE TABLE dash20_orders (id INTEGER PRIMARY KEY)", "INSERT INTO dash20_orders (id) VALUES (1)"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	d.sample(ctx, now) // the window starts after the schema was made
	for range 3 {      // 5 000 rows counted through a join: over a millisecond each
		var n int
		if err := db.QueryRowContext(ctx, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 5000) SELECT count(*) FROM c, dash20_orders WHERE 1 OR id = 0").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if _, err := db.ExecContext(ctx, "SELECT id FROM dash20_orders WHERE id = 1"); err != nil {
			t.Fatal(err)
		}
	}
	d.sample(ctx, now.Add(time.Hour))

	s := d.Snapshot()
	q := s.Bottlenecks.SlowQueries
	if len(q) < 2 {
		t.Fatalf("slow queries %+v, want the heavy and the light statement", q)
	}
	if q[0].Name != "sqlite: SELECT c dash20_orders" || q[0].PerSecond*3600 < 2.99 || q[0].PerSecond*3600 > 3.01 {
		t.Errorf("first %+v, want the recursive count over dash20_orders, 3 in the hour", q[0])
	}
	if float64(q[0].SlowInWindow) != 3 {
		t.Errorf("slow in window %v, want 3 (each took over 1 ms)", q[0].SlowInWindow)
	}
	if len(s.DBPools) != 1 || s.DBPools[0].Max != 4 || !s.DBPools[0].Idle.Valid() {
		t.Errorf("pools %+v, want one with max 4", s.DBPools)
	}
}

// The rows of idempotency, audit and backups read the instruments named in
// docs/METRICS.md, recorded here with known values.
func TestOperationsRows(t *testing.T) {
	d, mp := newSampled(t)
	ctx := context.Background()
	m := mp.Meter("test")
	begins, _ := m.Int64Counter("keel.idempotency.begins")
	ends, _ := m.Int64Counter("keel.idempotency.ends")
	batch, _ := m.Int64Histogram("keel.audit.batch.size")
	ops, _ := m.Int64Counter("keel.backup.operations")
	var checkpoint, lastSuccess float64 = 7, 0
	_, _ = m.Int64ObservableGauge("keel.audit.checkpoint.seq", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(int64(checkpoint), metric.WithAttributes(attribute.String("keel.audit.log.id", "abc")))
		return nil
	}))
	_, _ = m.Float64ObservableGauge("keel.backup.last_success", metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
		if lastSuccess > 0 {
			o.Observe(lastSuccess, metric.WithAttributes(attribute.String("keel.backup.driver", "sqlite")))
		}
		return nil
	}))
	result := func(r string) metric.AddOption {
		return metric.WithAttributes(attribute.String("keel.idempotency.result", r))
	}
	backup := func(op, r string) metric.AddOption {
		return metric.WithAttributes(attribute.String("keel.backup.operation", op), attribute.String("keel.backup.driver", "sqlite"),
			attribute.String("keel.backup.result", r))
	}
	t0 := time.Unix(1_800_000_000, 0)
	begins.Add(ctx, 5, result("proceed"))
	ops.Add(ctx, 1, backup("verify", "failure"))
	d.sample(ctx, t0)
	checkpoint = 9
	d.sample(ctx, t0.Add(time.Hour))
	begins.Add(ctx, 2, result("replay"))
	begins.Add(ctx, 1, result("conflict"))
	ends.Add(ctx, 1, metric.WithAttributes(attribute.String("keel.idempotency.result", "lease_lost")))
	batch.Record(ctx, 2)
	batch.Record(ctx, 6)
	ops.Add(ctx, 1, backup("create", "success"))
	ops.Add(ctx, 1, backup("verify", "success"))
	lastSuccess = float64(t0.Add(2*time.Hour - 90*time.Second).Unix())
	d.sample(ctx, t0.Add(2*time.Hour))

	s := d.Snapshot()
	if i := s.Idempotency; i.Replays != 2 || i.Conflicts != 1 || i.Mismatches != 0 || i.LeaseLost != 1 {
		t.Errorf("idempotency %+v, want 2 replays, 1 conflict, 1 lost lease", i)
	}
	if a := s.Audit; a.BatchSizeMean != 4 || len(a.Checkpoints) != 1 || a.Checkpoints[0].Seq != 9 || !a.Checkpoints[0].Since.Equal(t0.Add(time.Hour)) {
		t.Errorf("audit %+v, want mean batch 4 and checkpoint 9 since the second sample", a)
	}
	if len(s.Backups) != 1 || s.Backups[0].LastVerify != "success" || s.Backups[0].LastSuccessAgeSeconds != 90 {
		t.Errorf("backups %+v, want sqlite verified after its failure, last success 90 s ago", s.Backups)
	}
}
