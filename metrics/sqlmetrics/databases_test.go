package sqlmetrics_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/keel-go/keel/internal/testenv"
	"github.com/keel-go/keel/metrics/requestctx"
	"github.com/keel-go/keel/metrics/sqlmetrics"
)

// The values a test puts in statements and arguments: none may ever reach
// an attribute, a span or a log line.
const (
	secretLiteral = "literal-4111111111111111"
	secretArg     = "arg-jane.doe@example.com"
)

// database is one real database the tests run on.
type database struct {
	name       string
	driverName string
	system     string
	open       func(t *testing.T) string // returns the DSN of a fresh namespace
	// placeholder returns the n-th (1-based) bind placeholder.
	placeholder func(n int) string
	// uniqueViolation is the code of a duplicate key, as error.type and
	// db.response.status_code: the SQLSTATE (PostgreSQL), the error number
	// (MySQL and MariaDB, as their conventions ask), the extended result
	// code (SQLite).
	uniqueViolation string
}

var databases = []database{
	{name: "postgresql", driverName: "pgx", system: "postgresql",
		open:            func(t *testing.T) string { return testenv.PostgresSchema(t).DSN },
		placeholder:     func(n int) string { return "$" + string(rune('0'+n)) },
		uniqueViolation: "23505"},
	{name: "mariadb", driverName: "mysql", system: "mariadb",
		open:            func(t *testing.T) string { return testenv.MySQLDatabase(t).DSN },
		placeholder:     func(int) string { return "?" },
		uniqueViolation: "1062"}, // ER_DUP_ENTRY
	{name: "sqlite", driverName: "sqlite", system: "sqlite",
		open: func(t *testing.T) string {
			return "file:" + filepath.Join(t.TempDir(), "test.db") + "?_pragma=busy_timeout(5000)"
		},
		placeholder:     func(int) string { return "?" },
		uniqueViolation: "2067"}, // SQLITE_CONSTRAINT_UNIQUE
}

// telemetry is what one test observes: metrics, spans and log records.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the log records, decoded.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		out = append(out, rec)
	}
	return out
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder(), logs: &syncBuffer{}}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	t.Cleanup(func() { _ = tel.tp.Shutdown(context.Background()) })
	return tel
}

func (tel *telemetry) config(t *testing.T, db database, mp *sdkmetric.MeterProvider) sqlmetrics.Config {
	return sqlmetrics.Config{
		System:             db.system,
		Namespace:          "test",
		MeterProvider:      mp,
		TracerProvider:     tel.tp,
		Tracing:            true,
		SpanQueryText:      true,
		SlowQueryThreshold: time.Nanosecond, // every operation is slow: each must log safely
		Logger:             slog.New(slog.NewJSONHandler(tel.logs, nil)),
	}
}

func (tel *telemetry) collect(t *testing.T) metricdata.ResourceMetrics {
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	return rm
}

func findMetric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

func attrMap(set attribute.Set) map[string]string {
	out := map[string]string{}
	for _, kv := range set.ToSlice() {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// operationCounts returns, per db.query.summary plus error.type, how many
// operations the duration histogram counted, and fails if any attribute
// carries a secret or an attribute the conventions do not name.
func operationCounts(t *testing.T, rm metricdata.ResourceMetrics) map[string]uint64 {
	t.Helper()
	m, ok := findMetric(rm, "db.client.operation.duration")
	require.True(t, ok, "db.client.operation.duration recorded")
	assert.Equal(t, "s", m.Unit)
	hist := m.Data.(metricdata.Histogram[float64])
	counts := map[string]uint64{}
	allowed := map[string]bool{"db.system.name": true, "db.namespace": true, "db.query.summary": true,
		"db.operation.name": true, "db.collection.name": true, "error.type": true, "db.response.status_code": true}
	for _, p := range hist.DataPoints {
		attrs := attrMap(p.Attributes)
		for k, v := range attrs {
			assert.True(t, allowed[k], "attribute %s is not one of the conventions' own", k)
			assert.NotContains(t, v, "literal-", "attribute %s", k)
			assert.NotContains(t, v, "example.com", "attribute %s", k)
		}
		key := attrs["db.query.summary"]
		if e := attrs["error.type"]; e != "" {
			key += " !" + e
		}
		counts[key] += p.Count
	}
	return counts
}

func TestOperationsOnRealDatabases(t *testing.T) {
	for _, dbc := range databases {
		t.Run(dbc.name, func(t *testing.T) {
			dsn := dbc.open(t)
			tel := newTelemetry(t)
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
			t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			db, err := sqlmetrics.Open(dbc.driverName, dsn, tel.config(t, dbc, mp))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			db.SetMaxOpenConns(4)

			ctx, span := tel.tp.Tracer("test").Start(context.Background(), "request")
			wantTrace := span.SpanContext().TraceID().String()
			ph := dbc.placeholder

			_, err = db.ExecContext(ctx, "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE, note VARCHAR(200))")
			require.NoError(t, err)
			for i := 1; i <= 3; i++ {
				_, err = db.ExecContext(ctx, "INSERT INTO customers (id, email, note) VALUES ("+ph(1)+", "+ph(2)+", '"+secretLiteral+"')",
					i, secretArg+string(rune('0'+i)))
				require.NoError(t, err)
			}
			// A literal in the text and an argument: neither may show.
			rows, err := db.QueryContext(ctx, "SELECT id, email FROM customers WHERE note = '"+secretLiteral+"' AND email <> "+ph(1)+" ORDER BY id", secretArg)
			require.NoError(t, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			require.Equal(t, 3, n)

			// A prepared statement executed twice.
			stmt, err := db.PrepareContext(ctx, "UPDATE customers SET note = "+ph(1)+" WHERE id = "+ph(2))
			require.NoError(t, err)
			for i := 1; i <= 2; i++ {
				_, err = stmt.ExecContext(ctx, secretArg, i)
				require.NoError(t, err)
			}
			require.NoError(t, stmt.Close())

			// A transaction, committed, and one rolled back.
			txn, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = txn.ExecContext(ctx, "DELETE FROM customers WHERE id = "+ph(1), 3)
			require.NoError(t, err)
			require.NoError(t, txn.Commit())
			txn, err = db.BeginTx(ctx, nil)
			require.NoError(t, err)
			require.NoError(t, txn.Rollback())

			// A failure whose message quotes the argument.
			_, err = db.ExecContext(ctx, "INSERT INTO customers (id, email) VALUES ("+ph(1)+", "+ph(2)+")", 9, secretArg+"1")
			require.Error(t, err)
			span.End()

			rm := tel.collect(t)
			counts := operationCounts(t, rm)
			assert.Equal(t, uint64(3), counts["INSERT customers"], "%v", counts)
			assert.Equal(t, uint64(1), counts["SELECT customers"], "%v", counts)
			assert.Equal(t, uint64(2), counts["UPDATE customers"], "%v", counts)
			assert.Equal(t, uint64(1), counts["DELETE customers"], "%v", counts)
			assert.Equal(t, uint64(2), counts["BEGIN"], "%v", counts)
			assert.Equal(t, uint64(1), counts["COMMIT"], "%v", counts)
			assert.Equal(t, uint64(1), counts["ROLLBACK"], "%v", counts)
			assert.Equal(t, uint64(1), counts["INSERT customers !"+dbc.uniqueViolation], "%v", counts)

			// The names of a one-table, one-operation statement.
			hist, _ := findMetric(rm, "db.client.operation.duration")
			var sawInsert bool
			for _, p := range hist.Data.(metricdata.Histogram[float64]).DataPoints {
				a := attrMap(p.Attributes)
				if a["error.type"] != "" {
					assert.Equal(t, a["error.type"], a["db.response.status_code"], "error.type matches the status code")
				}
				if a["db.query.summary"] == "INSERT customers" && a["error.type"] == "" {
					sawInsert = true
					assert.Equal(t, map[string]string{"db.system.name": dbc.system, "db.namespace": "test",
						"db.query.summary": "INSERT customers", "db.operation.name": "INSERT", "db.collection.name": "customers"}, a)
				}
			}
			assert.True(t, sawInsert)

			// The pool: its connections, all idle now.
			count, ok := findMetric(rm, "db.client.connection.count")
			require.True(t, ok)
			var used, idle int64 = -1, -1
			for _, p := range count.Data.(metricdata.Sum[int64]).DataPoints {
				a := attrMap(p.Attributes)
				assert.Equal(t, dbc.system+"/test", a["db.client.connection.pool.name"])
				switch a["db.client.connection.state"] {
				case "used":
					used = p.Value
				case "idle":
					idle = p.Value
				}
			}
			assert.Equal(t, int64(0), used)
			assert.GreaterOrEqual(t, idle, int64(1))
			maxConns, ok := findMetric(rm, "db.client.connection.max")
			require.True(t, ok)
			assert.Equal(t, int64(4), maxConns.Data.(metricdata.Sum[int64]).DataPoints[0].Value)

			// Every operation was slow (threshold 1 ns): the log has each,
			// with the normalised statement, the rows and the trace, and
			// not one literal or argument.
			logs := tel.logs.String()
			assert.NotContains(t, logs, "literal-")
			assert.NotContains(t, logs, "example.com")
			var sawSelect bool
			for _, rec := range tel.logs.records(t) {
				assert.Equal(t, "sqlmetrics: slow query", rec["msg"])
				assert.Equal(t, wantTrace, rec["trace_id"])
				if rec["db.query.summary"] == "SELECT customers" {
					sawSelect = true
					assert.Equal(t, float64(3), rec["rows"])
					assert.Contains(t, rec["statement"], "WHERE note = ?")
				}
			}
			assert.True(t, sawSelect, "the SELECT was logged")
			slow, ok := findMetric(rm, "keel.sqlmetrics.slow_queries")
			require.True(t, ok)
			var slowTotal int64
			for _, p := range slow.Data.(metricdata.Sum[int64]).DataPoints {
				slowTotal += p.Value
			}
			assert.Equal(t, int64(13), slowTotal, "every recorded operation counted as slow")

			// Spans: children of the request, literal-free text.
			var dbSpans int
			for _, s := range tel.spans.Ended() {
				if s.Name() == "request" {
					continue
				}
				dbSpans++
				assert.Equal(t, wantTrace, s.SpanContext().TraceID().String())
				for _, kv := range s.Attributes() {
					assert.NotContains(t, kv.Value.String(), "literal-")
					assert.NotContains(t, kv.Value.String(), "example.com")
					if kv.Key == "db.query.text" && s.Name() == "SELECT customers" {
						assert.Contains(t, kv.Value.AsString(), "note = ?")
					}
				}
			}
			assert.Equal(t, 13, dbSpans)
		})
	}
}

// TestSlowQueryLogCarriesTheRoute runs a query from a handler behind the
// request-id middleware and a real ServeMux: the slow-query line names the
// route and the request id, and a fast query logs nothing. The threshold
// (1 s) leaves SELECT 1 a wide margin on a loaded machine, where 50 ms was
// once not enough.
func TestSlowQueryLogCarriesTheRoute(t *testing.T) {
	dbc := databases[0] // PostgreSQL: pg_sleep makes one query slow for real
	dsn := dbc.open(t)
	logs := &syncBuffer{}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	db, err := sqlmetrics.Open("pgx", dsn, sqlmetrics.Config{System: "postgresql", MeterProvider: mp,
		SlowQueryThreshold: time.Second, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	mux := http.NewServeMux()
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		var one int
		if err := db.QueryRowContext(r.Context(), "SELECT 1").Scan(&one); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if _, err := db.ExecContext(r.Context(), "SELECT pg_sleep(1.5), 'slow-secret'"); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	srv := httptest.NewServer(requestctx.Middleware(mux))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/reports/42", nil)
	req.Header.Set(requestctx.Header, "req-123")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	recs := logs.records(t)
	require.Len(t, recs, 1, logs.String())
	assert.Equal(t, "/reports/{id}", recs[0]["http.route"])
	assert.Equal(t, "req-123", recs[0]["request_id"])
	assert.Equal(t, "SELECT pg_sleep ( ? ), ?", recs[0]["statement"])
	assert.NotContains(t, logs.String(), "slow-secret")
	assert.GreaterOrEqual(t, recs[0]["duration"], float64(1500*time.Millisecond))
}

// TestUnwrapReachesTheDriversConnection: sql.Conn.Raw hands out the
// wrapper; Unwrap gives pgx's own connection back.
func TestUnwrapReachesTheDriversConnection(t *testing.T) {
	dsn := databases[0].open(t)
	db, err := sqlmetrics.Open("pgx", dsn, sqlmetrics.Config{System: "postgresql"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Raw(func(dc any) error {
		_, ok := sqlmetrics.Unwrap(dc).(*stdlib.Conn)
		assert.True(t, ok, "Unwrap(%T) is pgx's *stdlib.Conn", dc)
		return nil
	}))
}

// TestColumnTypesPassThrough: database/sql's ColumnTypes reads the driver's
// own answers through the wrapper.
func TestColumnTypesPassThrough(t *testing.T) {
	for _, dbc := range databases {
		t.Run(dbc.name, func(t *testing.T) {
			dsn := dbc.open(t)
			db, err := sqlmetrics.Open(dbc.driverName, dsn, sqlmetrics.Config{System: dbc.system})
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			plain, err := sql.Open(dbc.driverName, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = plain.Close() })
			for _, d := range []*sql.DB{db.DB, plain} {
				_, _ = d.Exec("CREATE TABLE IF NOT EXISTS typed (id INTEGER NOT NULL, name VARCHAR(20))")
			}
			types := func(d *sql.DB) []string {
				rows, err := d.Query("SELECT id, name FROM typed")
				require.NoError(t, err)
				defer rows.Close()
				cts, err := rows.ColumnTypes()
				require.NoError(t, err)
				var out []string
				for _, ct := range cts {
					l, lok := ct.Length()
					nul, nok := ct.Nullable()
					out = append(out, ct.DatabaseTypeName()+"|"+fmt.Sprint(ct.ScanType())+"|"+
						strings.Repeat("L", int(min(l, 1)))+boolMark(lok)+boolMark(nul)+boolMark(nok))
				}
				return out
			}
			assert.Equal(t, types(plain), types(db.DB))
		})
	}
}

func boolMark(b bool) string {
	if b {
		return "t"
	}
	return "f"
}

// TestSlowQueryIDsOnceWithTheRequestLogHandler: with requestctx's handler,
// which adds the ids itself, the slow-query line has each once.
func TestSlowQueryIDsOnceWithTheRequestLogHandler(t *testing.T) {
	logs := &syncBuffer{}
	db, err := sqlmetrics.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "t.db"), sqlmetrics.Config{System: "sqlite",
		SlowQueryThreshold: time.Nanosecond, Logger: slog.New(requestctx.NewLogHandler(slog.NewJSONHandler(logs, nil)))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.ExecContext(requestctx.WithID(context.Background(), "req-9"), "SELECT 1")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(logs.String(), `"request_id":"req-9"`), logs.String())
}

// TestSpanNameWithoutSummaryIsTheSystem: a statement with nothing to
// summarise (a lone comment, which SQLite runs as a no-op) gives a span
// named by db.system.name, the conventions' last fallback.
func TestSpanNameWithoutSummaryIsTheSystem(t *testing.T) {
	tel := newTelemetry(t)
	db, err := sqlmetrics.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "t.db"), sqlmetrics.Config{System: "sqlite",
		Tracing: true, TracerProvider: tel.tp})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.ExecContext(context.Background(), "-- nothing to run")
	require.NoError(t, err)
	var names []string
	for _, s := range tel.spans.Ended() {
		names = append(names, s.Name())
	}
	assert.Equal(t, []string{"sqlite"}, names)
}
