package sqlsink_test

import (
	"context"
	"database/sql"
	"runtime"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
	"github.com/keel-go/keel/internal/testenv"
)

// BenchmarkPostgresDurable compares 64 concurrent durable loggers on the
// PostgreSQL sink (one transaction per group-committed batch) with a naive
// audit table that commits one INSERT per event, in one run.
func BenchmarkPostgresDurable(b *testing.B) {
	ev := audit.Event{Actor: audit.Actor{ID: "u-1", Type: "user"}, Action: "license.update",
		Resource: audit.Resource{Type: "license", ID: "lic-1"}, Outcome: audit.Success,
		After: map[string]any{"seats": 25}}
	b.Run("impl=keel-group-commit", func(b *testing.B) {
		db := testenv.PostgresSchema(b).DB
		sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: sqlsink.Postgres})
		if err != nil {
			b.Fatal(err)
		}
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key, MeterProvider: mp})
		if err != nil {
			b.Fatal(err)
		}
		run64(b, func() error { return l.Log(context.Background(), ev) })
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		reportEventsPerCommit(b, reader)
	})
	b.Run("impl=naive-insert-per-event", func(b *testing.B) {
		db := testenv.PostgresSchema(b).DB
		if _, err := db.Exec(`CREATE TABLE naive_audit (id BIGSERIAL PRIMARY KEY, actor_id TEXT, action TEXT,
			resource_type TEXT, resource_id TEXT, outcome TEXT, after JSONB, at TIMESTAMPTZ DEFAULT now())`); err != nil {
			b.Fatal(err)
		}
		run64(b, func() error { return naiveInsert(db, ev) })
	})
}

func naiveInsert(db *sql.DB, e audit.Event) error {
	_, err := db.Exec(`INSERT INTO naive_audit (actor_id, action, resource_type, resource_id, outcome, after)
		VALUES ($1, $2, $3, $4, $5, '{"seats":25}')`, e.Actor.ID, e.Action, e.Resource.Type, e.Resource.ID, string(e.Outcome))
	return err
}

func run64(b *testing.B, logOne func() error) {
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := logOne(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// reportEventsPerCommit reports the mean batch (events per transaction),
// read from the keel.audit.batch.size histogram.
func reportEventsPerCommit(b *testing.B, reader *sdkmetric.ManualReader) {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		b.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[int64]); ok && m.Name == "keel.audit.batch.size" && len(h.DataPoints) > 0 {
				b.ReportMetric(float64(h.DataPoints[0].Sum)/float64(h.DataPoints[0].Count), "events/commit")
			}
		}
	}
}
