package sqlmetrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	_ "modernc.org/sqlite"

	"github.com/keel-go/keel/metrics/sqlmetrics"
)

// Example measures an SQLite database and logs every query slower than a
// (here absurdly low) threshold, without its literals.
func Example() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	dir, _ := os.MkdirTemp("", "sqlmetrics-example")
	defer os.RemoveAll(dir)

	// The log line's time and duration vary from run to run: leave them out.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		}}))
	db, err := sqlmetrics.Open("sqlite", "file:"+filepath.Join(dir, "shop.db"), sqlmetrics.Config{
		System: "sqlite", MeterProvider: mp, SlowQueryThreshold: time.Nanosecond, Logger: logger})
	if err != nil {
		panic(err)
	}
	defer db.Close()

	_, _ = db.ExecContext(ctx, "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
	_, _ = db.ExecContext(ctx, "INSERT INTO customers (email) VALUES ('jane@example.com')")

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "db.client.operation.duration" {
			for _, p := range h.DataPoints {
				summary, _ := p.Attributes.Value("db.query.summary")
				fmt.Println(m.Name, summary.AsString(), p.Count)
			}
		}
	}
	// Unordered output:
	// level=WARN msg="sqlmetrics: slow query" db.query.summary="CREATE customers" statement="CREATE TABLE customers ( id INTEGER PRIMARY KEY, email TEXT )" rows=0
	// level=WARN msg="sqlmetrics: slow query" db.query.summary="INSERT customers" statement="INSERT INTO customers ( email ) VALUES ( ? )" rows=1
	// db.client.operation.duration CREATE customers 1
	// db.client.operation.duration INSERT customers 1
}
