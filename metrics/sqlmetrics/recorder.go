package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/keel-go/keel/metrics/requestctx"
)

// ScopeName is the instrumentation scope of the instruments and spans this
// package creates.
const ScopeName = "github.com/keel-go/keel/metrics/sqlmetrics"

// durationBuckets are the bucket boundaries, in seconds, that the stable
// database conventions advise for db.client.operation.duration.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// recorder holds what every wrapped connection of one connector shares.
type recorder struct {
	statements *statementCache
	// system is db.system.name, the span name of last resort.
	system    string
	duration  metric.Float64Histogram
	slowCount metric.Int64Counter

	tracer        trace.Tracer
	spanQueryText bool

	slow   time.Duration
	logger *slog.Logger
	// handlerAddsIDs is true when logger's handler is requestctx's, which
	// adds trace_id, span_id and request_id to every record itself.
	handlerAddsIDs bool

	// begin, commit and rollback are the statements of transaction control.
	begin, commit, rollback *statement
}

func newRecorder(cfg Config) (*recorder, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	duration, err := meter.Float64Histogram("db.client.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of database client operations."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: db.client.operation.duration: %w", err)
	}
	slowCount, err := meter.Int64Counter("keel.sqlmetrics.slow_queries",
		metric.WithUnit("{operation}"),
		metric.WithDescription("Database operations that took at least the slow-query threshold."))
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: keel.sqlmetrics.slow_queries: %w", err)
	}
	a := newAnalyzer(cfg.System, cfg.Namespace)
	r := &recorder{
		statements:    newStatementCache(a),
		system:        cfg.System,
		duration:      duration,
		slowCount:     slowCount,
		spanQueryText: cfg.SpanQueryText,
		slow:          cfg.SlowQueryThreshold,
		logger:        cfg.Logger,
		begin:         a.analyze("BEGIN"),
		commit:        a.analyze("COMMIT"),
		rollback:      a.analyze("ROLLBACK"),
	}
	if cfg.Logger != nil {
		_, r.handlerAddsIDs = cfg.Logger.Handler().(*requestctx.LogHandler)
	}
	if cfg.Tracing {
		tp := cfg.TracerProvider
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		r.tracer = tp.Tracer(ScopeName)
	}
	return r, nil
}

// rowsUnknown is the rows argument of an operation that returns none
// (BEGIN) or whose count is not known.
const rowsUnknown = -1

// clockBase is where the package's monotonic clock starts.
var clockBase = time.Now()

// now reads the monotonic clock alone, as the time since clockBase. It is
// what an operation's start and end are taken from: time.Now reads the wall
// clock as well, which a duration does not need and which costs as much
// again (about 100 ns a read on a virtual machine's clock).
func now() time.Duration { return time.Since(clockBase) }

// done records one operation that started at start (a reading of now).
// rows is the number of rows returned or affected, or rowsUnknown; result,
// when not nil, is asked for RowsAffected only if someone will read it (a
// slow-query log line or a span), so that the common path makes no extra
// driver call.
func (r *recorder) done(ctx context.Context, st *statement, start time.Duration, rows int64, result rowsAffecter, err error) {
	elapsed := now() - start
	failed := err != nil
	slow := r.slow > 0 && elapsed >= r.slow
	if !failed && !slow && r.tracer == nil {
		// The common case: one Record with the statement's prepared set.
		r.duration.Record(ctx, elapsed.Seconds(), st.ok...)
		return
	}
	if rows == rowsUnknown && result != nil && (slow || r.tracer != nil) {
		if n, rerr := result.RowsAffected(); rerr == nil {
			rows = n
		}
	}
	var errAttrs []attribute.KeyValue
	if !failed {
		r.duration.Record(ctx, elapsed.Seconds(), st.ok...)
		if slow {
			r.slowCount.Add(ctx, 1, st.okAdd...)
		}
	} else {
		errAttrs = errorAttributes(err)
		set := attribute.NewSet(append(st.okAttr[:len(st.okAttr):len(st.okAttr)], errAttrs...)...)
		r.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributeSet(set))
		if slow {
			r.slowCount.Add(ctx, 1, metric.WithAttributeSet(set))
		}
	}
	if slow {
		r.logSlow(ctx, st, elapsed, rows, errAttrs)
	}
	if r.tracer != nil {
		// The wall clock is read once, at the end; the start is the end
		// less the monotonic duration.
		end := time.Now()
		r.span(ctx, st, end.Add(-elapsed), end, rows, errAttrs)
	}
}

type rowsAffecter interface {
	RowsAffected() (int64, error)
}

// errorAttributes are error.type and, when the driver's error carries the
// database's own code, db.response.status_code, the two equal as the
// conventions ask: the SQLSTATE of an error with SQLState() (pgx's
// *pgconn.PgError), the error number of go-sql-driver/mysql's *MySQLError
// (the MySQL and MariaDB conventions' status code), the extended result
// code of an error with Code() int (modernc.org/sqlite's *sqlite.Error).
// Otherwise error.type alone: context.Canceled, context.DeadlineExceeded,
// driver.ErrBadConn, or the error's Go type. All low-cardinality: never the
// message, which may quote a value.
func errorAttributes(err error) []attribute.KeyValue {
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		if code := state.SQLState(); validSQLState(code) {
			return statusCode(code)
		}
	}
	if code, ok := mysqlErrorNumber(err); ok {
		return statusCode(code)
	}
	var coder interface{ Code() int }
	if errors.As(err, &coder) {
		if code := coder.Code(); code > 0 {
			return statusCode(strconv.Itoa(code))
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return []attribute.KeyValue{semconv.ErrorTypeKey.String("context.Canceled")}
	case errors.Is(err, context.DeadlineExceeded):
		return []attribute.KeyValue{semconv.ErrorTypeKey.String("context.DeadlineExceeded")}
	case errors.Is(err, driver.ErrBadConn):
		return []attribute.KeyValue{semconv.ErrorTypeKey.String("driver.ErrBadConn")}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(fmt.Sprintf("%T", err))}
}

func statusCode(code string) []attribute.KeyValue {
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(code), semconv.DBResponseStatusCode(code)}
}

// mysqlErrorNumber finds go-sql-driver/mysql's *MySQLError in err's chain
// and returns its Number. It reads the field by reflection so that this
// package neither imports the driver (whose init registers "mysql" with
// database/sql in every program that links sqlmetrics) nor depends on its
// version beyond the field's name and type, stable since 2013.
func mysqlErrorNumber(err error) (string, bool) {
	for ; err != nil; err = errors.Unwrap(err) {
		v := reflect.ValueOf(err)
		if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
			continue
		}
		t := v.Elem().Type()
		if t.Name() != "MySQLError" || t.PkgPath() != "github.com/go-sql-driver/mysql" {
			continue
		}
		if n := v.Elem().FieldByName("Number"); n.IsValid() && n.Kind() == reflect.Uint16 {
			return strconv.FormatUint(n.Uint(), 10), true
		}
	}
	return "", false
}

// validSQLState reports whether code looks like a SQLSTATE: five ASCII
// letters or digits. Anything else is not used as an attribute value.
func validSQLState(code string) bool {
	if len(code) != 5 {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// logSlow writes the slow-query line: the normalised statement (no literal
// of the text, no argument ever), how long it took, the rows, and the route
// and trace of the request it ran for.
func (r *recorder) logSlow(ctx context.Context, st *statement, elapsed time.Duration, rows int64, errAttrs []attribute.KeyValue) {
	if !r.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("db.query.summary", st.summary),
		slog.String("statement", st.normalized),
		slog.Duration("duration", elapsed),
		slog.Int64("rows", rows))
	if route := requestctx.Route(ctx); route != "" {
		attrs = append(attrs, slog.String("http.route", route))
	}
	if !r.handlerAddsIDs {
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
		}
		if id := requestctx.ID(ctx); id != "" {
			attrs = append(attrs, slog.String("request_id", id))
		}
	}
	if len(errAttrs) > 0 {
		// The type or code, never the message: a driver's message may
		// quote the value that violated a constraint.
		attrs = append(attrs, slog.String("error.type", errAttrs[0].Value.AsString()))
	}
	r.logger.LogAttrs(ctx, slog.LevelWarn, "sqlmetrics: slow query", attrs...)
}

func (r *recorder) span(ctx context.Context, st *statement, start, end time.Time, rows int64, errAttrs []attribute.KeyValue) {
	// The conventions' span name: db.query.summary, else (as the summary
	// already holds the operation and the tables) db.system.name.
	name := st.summary
	if name == "" {
		name = r.system
	}
	attrs := st.okAttr
	if r.spanQueryText && st.normalized != "" {
		attrs = append(attrs[:len(attrs):len(attrs)], semconv.DBQueryTextKey.String(st.normalized))
	}
	if rows >= 0 {
		attrs = append(attrs[:len(attrs):len(attrs)], attribute.Int64("db.response.returned_rows", rows))
	}
	if len(errAttrs) > 0 {
		attrs = append(attrs[:len(attrs):len(attrs)], errAttrs...)
	}
	// The span starts when the call started and is created only now, when
	// it is known that the driver did the operation (a driver that answers
	// driver.ErrSkip has not, and database/sql retries through a prepared
	// statement, which is recorded instead).
	_, span := r.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if len(errAttrs) > 0 {
		span.SetStatus(codes.Error, errAttrs[0].Value.AsString())
	}
	span.End(trace.WithTimestamp(end))
}
