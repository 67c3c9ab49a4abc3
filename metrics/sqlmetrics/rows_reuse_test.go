package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// openSQLite opens a file SQLite database through the wrapper, with one
// table of three rows.
func openSQLite(t *testing.T) (*DB, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	db, err := Open("sqlite", "file:"+filepath.Join(t.TempDir(), "reuse.db")+"?_pragma=busy_timeout(5000)",
		Config{System: "sqlite", MeterProvider: mp})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER); INSERT INTO kv VALUES (1, 10), (2, 20), (3, 30)")
	require.NoError(t, err)
	return db, reader
}

// operations is the number of operations db.client.operation.duration has
// recorded, over all attribute sets.
func operations(t *testing.T, reader *sdkmetric.ManualReader) uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "db.client.operation.duration" {
				for _, dp := range h.DataPoints {
					n += dp.Count
				}
			}
		}
	}
	return n
}

// TestClosedRowsWrapperIsInertAndNotReusedInsideRaw: a caller of the
// wrapped connection's own API (sql.Conn.Raw) may close rows twice or call
// Next after Close: the second Close does nothing, Next answers an error
// without reaching the driver, and the operation is recorded once. Inside
// the same Raw callback, where that caller may still hold the closed
// wrapper, the connection's next query gets a different one.
func TestClosedRowsWrapperIsInertAndNotReusedInsideRaw(t *testing.T) {
	db, reader := openSQLite(t)
	ctx := context.Background()
	sc, err := db.Conn(ctx)
	require.NoError(t, err)
	defer sc.Close()
	before := operations(t, reader)

	err = sc.Raw(func(dc any) error {
		q := dc.(driver.QueryerContext)
		first, err := q.QueryContext(ctx, "SELECT v FROM kv ORDER BY k", nil)
		require.NoError(t, err)
		dest := make([]driver.Value, 1)
		require.NoError(t, first.Next(dest))
		assert.Equal(t, int64(10), dest[0])
		require.NoError(t, first.Close())

		assert.NoError(t, first.Close(), "a second Close")
		err = first.Next(dest)
		assert.ErrorIs(t, err, errRowsClosed, "Next after Close")
		assert.NotErrorIs(t, err, io.EOF)
		assert.Nil(t, first.Columns(), "Columns after Close")
		assert.Nil(t, Unwrap(first), "a closed wrapper holds no driver rows")

		second, err := q.QueryContext(ctx, "SELECT v FROM kv WHERE k = 2", nil)
		require.NoError(t, err)
		assert.NotSame(t, first, second, "reused before the session was reset")
		assert.Error(t, first.Next(dest), "the first wrapper stays closed")
		require.NoError(t, second.Next(dest))
		assert.Equal(t, int64(20), dest[0])
		assert.ErrorIs(t, second.Next(dest), io.EOF)
		return second.Close()
	})
	require.NoError(t, err)
	assert.Equal(t, before+2, operations(t, reader), "each query recorded once")
}

// TestRowsWrapperReusedAfterSessionReset: through database/sql, a
// connection's next query reuses the wrapper its last one closed, because
// database/sql resets the session between the two.
func TestRowsWrapperReusedAfterSessionReset(t *testing.T) {
	db, reader := openSQLite(t)
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var c *conn
	sc, err := db.Conn(ctx)
	require.NoError(t, err)
	require.NoError(t, sc.Raw(func(dc any) error { c = dc.(*conn); return nil }))
	require.NoError(t, sc.Close())
	before := operations(t, reader)

	var v int64
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1).Scan(&v))
	assert.Equal(t, int64(10), v)
	first := c.spareRows.closed
	require.NotNil(t, first, "the closed wrapper is kept")

	rows, err := db.QueryContext(ctx, "SELECT v FROM kv ORDER BY k")
	require.NoError(t, err)
	var got []int64
	for rows.Next() {
		require.NoError(t, rows.Scan(&v))
		got = append(got, v)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	assert.Equal(t, []int64{10, 20, 30}, got, "the reused wrapper reads its own result")
	assert.Same(t, first, c.spareRows.closed, "the second query reused the first one's wrapper")
	assert.Nil(t, c.spareRows.ready)
	assert.Equal(t, before+2, operations(t, reader))
}

// TestRowsReuseUnderConcurrencyAndCancellation runs queries from several
// goroutines on a few connections, some cancelled while their rows are
// open (database/sql then closes the rows from its own goroutine): each
// reads its own rows, and under -race no access to a spare wrapper races.
func TestRowsReuseUnderConcurrencyAndCancellation(t *testing.T) {
	db, _ := openSQLite(t)
	db.SetMaxOpenConns(3)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 40 {
				ctx, cancel := context.WithCancel(context.Background())
				k := int64((g+i)%3 + 1)
				rows, err := db.QueryContext(ctx, "SELECT k, v FROM kv WHERE k >= ? ORDER BY k", k)
				if !assert.NoError(t, err) {
					cancel()
					return
				}
				want := k
				for rows.Next() {
					var gotK, gotV int64
					if err := rows.Scan(&gotK, &gotV); err != nil {
						// database/sql closed the rows after the cancel
						assert.ErrorIs(t, err, context.Canceled)
						break
					}
					assert.Equal(t, want, gotK)
					assert.Equal(t, gotK*10, gotV)
					want++
					if i%4 == 0 {
						cancel() // database/sql closes the rows from awaitDone
					}
				}
				if err := rows.Err(); err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("rows: %v", err)
				}
				if err := rows.Close(); err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("close: %v", err)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM kv").Scan(&n))
	assert.Equal(t, 3, n)
}
