package sqlmetrics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// sleepyConnector's connections take three seconds for every Exec: in a
// synctest bubble, exactly three seconds of the bubble's clock.
type sleepyConnector struct{}

func (sleepyConnector) Connect(context.Context) (driver.Conn, error) { return sleepyConn{}, nil }
func (sleepyConnector) Driver() driver.Driver                        { return nil }

type sleepyConn struct{}

func (sleepyConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (sleepyConn) Close() error                        { return nil }
func (sleepyConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }
func (sleepyConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	time.Sleep(3 * time.Second)
	return driver.RowsAffected(1), nil
}

// TestDurationAndSpanTimesFromTheMonotonicClock: the recorded duration is
// the time the driver took, and the span starts when the call started and
// ends when it ended, although the hot path reads only the monotonic clock
// and the span's times are derived from one wall-clock reading at the end.
func TestDurationAndSpanTimesFromTheMonotonicClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		spans := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
		c, err := NewConnector(sleepyConnector{}, Config{System: "sqlite", MeterProvider: mp, TracerProvider: tp, Tracing: true})
		require.NoError(t, err)
		db := sql.OpenDB(c)
		defer db.Close()
		conn, err := db.Conn(context.Background()) // connected before the clock starts
		require.NoError(t, err)
		defer conn.Close()

		before := time.Now()
		_, err = conn.ExecContext(context.Background(), "UPDATE kv SET v = 1")
		require.NoError(t, err)

		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		hist := rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Histogram[float64])
		require.Len(t, hist.DataPoints, 1)
		assert.Equal(t, 3.0, hist.DataPoints[0].Sum)
		ended := spans.Ended()
		require.Len(t, ended, 1)
		assert.True(t, ended[0].StartTime().Equal(before), "span start %v, call start %v", ended[0].StartTime(), before)
		assert.Equal(t, 3*time.Second, ended[0].EndTime().Sub(ended[0].StartTime()))
	})
}
