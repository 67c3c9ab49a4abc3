package sqlmetrics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"testing"

	"github.com/XSAM/otelsql"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"modernc.org/sqlite"

	"github.com/keel-go/keel/metrics/sqlmetrics"
)

// BenchmarkQueryOverhead measures what one operation pays for its
// instrumentation, on two drivers:
//
//   - nop: a driver that does no work (nopdriver_test.go), so that the
//     difference to bare is the instrumentation alone;
//   - sqlite: modernc.org/sqlite in memory (one connection), the real engine without the disk, where the
//     instrumentation is a small part of the operation.
//
// and two operations: exec (ExecContext with one argument) and query
// (QueryRowContext + Scan of one row). Each runs bare (the driver's own
// connector), keel (sqlmetrics with metrics on: duration histogram, no spans,
// no slow-query log) and otelsql (XSAM/otelsql with the same MeterProvider,
// db.system.name attribute, and a no-op tracer provider, so metrics only).
// Both record db.client.operation.duration into the same SDK
// MeterProvider with a ManualReader.
func BenchmarkQueryOverhead(b *testing.B) {
	ctx := context.Background()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(ctx) })

	drivers := []struct {
		name      string
		connector func(b *testing.B) driver.Connector
		setup     string
	}{
		{"nop", func(*testing.B) driver.Connector { return nopConnector{} }, ""},
		{"sqlite", func(b *testing.B) driver.Connector {
			return dsnConnector{dsn: ":memory:", driver: &sqlite.Driver{}}
		}, "CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, v INTEGER); INSERT OR REPLACE INTO kv VALUES (1, 42)"},
	}
	contenders := []struct {
		name string
		open func(b *testing.B, c driver.Connector) *sql.DB
	}{
		{"bare", func(_ *testing.B, c driver.Connector) *sql.DB { return sql.OpenDB(c) }},
		{"keel", func(b *testing.B, c driver.Connector) *sql.DB {
			wrapped, err := sqlmetrics.NewConnector(c, sqlmetrics.Config{System: "sqlite", MeterProvider: mp})
			if err != nil {
				b.Fatal(err)
			}
			return sql.OpenDB(wrapped)
		}},
		{"otelsql", func(_ *testing.B, c driver.Connector) *sql.DB {
			return otelsql.OpenDB(c, otelsql.WithMeterProvider(mp),
				otelsql.WithTracerProvider(tracenoop.NewTracerProvider()),
				otelsql.WithAttributes(semconv.DBSystemNameSQLite))
		}},
	}
	for _, d := range drivers {
		for _, op := range []string{"exec", "query"} {
			for _, c := range contenders {
				b.Run(fmt.Sprintf("driver=%s/op=%s/%s", d.name, op, c.name), func(b *testing.B) {
					db := c.open(b, d.connector(b))
					defer db.Close()
					db.SetMaxOpenConns(1) // one connection, reused: no pool noise
					if d.setup != "" {
						if _, err := db.ExecContext(ctx, d.setup); err != nil {
							b.Fatal(err)
						}
					}
					var v int64
					stop := reportCPU(b)
					b.ReportAllocs()
					for b.Loop() {
						var err error
						if op == "exec" {
							_, err = db.ExecContext(ctx, "UPDATE kv SET v = v WHERE k = ?", 1)
						} else {
							err = db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1).Scan(&v)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					stop()
				})
			}
		}
	}
}

// dsnConnector opens a DSN on a driver without DriverContext, as
// database/sql itself does for sql.Open.
type dsnConnector struct {
	dsn    string
	driver driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.driver }

// reportCPU starts measuring the process's CPU time; the function it returns
// reports it per operation as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
