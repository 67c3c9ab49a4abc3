package sqlmetrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	duration   metric.Float64Histogram
	slowCount  metric.Int64Counter

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

// done records one operation that started at start. rows is the number of
// rows returned or affected, or rowsUnknown; result, when not nil, is asked
// for RowsAffected only if someone will read it (a slow-query log line or a
// span), so that the common path makes no extra driver call.
func (r *recorder) done(ctx context.Context, st *statement, start time.Time, rows int64, result rowsAffecter, err error) {
	end := time.Now()
	elapsed := end.Sub(start)
	failed := err != nil
	slow := r.slow > 0 && elapsed >= r.slow
	if rows == rowsUnknown && result != nil && (slow || r.tracer != nil) {
		if n, rerr := result.RowsAffected(); rerr == nil {
			rows = n
		}
	}
	if !failed {
		r.duration.Record(ctx, elapsed.Seconds(), st.ok...)
		if slow {
			r.slowCount.Add(ctx, 1, st.okAdd...)
		}
	} else {
		set := attribute.NewSet(append(st.okAttr[:len(st.okAttr):len(st.okAttr)], errorAttributes(err)...)...)
		r.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributeSet(set))
		if slow {
			r.slowCount.Add(ctx, 1, metric.WithAttributeSet(set))
		}
	}
	if slow {
		r.logSlow(ctx, st, elapsed, rows, err)
	}
	if r.tracer != nil {
		r.span(ctx, st, start, end, rows, err, failed)
	}
}

type rowsAffecter interface {
	RowsAffected() (int64, error)
}

// errorAttributes are error.type and, when the driver's error carries a
// SQLSTATE (pgx's *pgconn.PgError does), db.response.status_code. Both are
// low-cardinality: a Go type name or a five-character code, never the
// message, which may quote a value.
func errorAttributes(err error) []attribute.KeyValue {
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		if code := state.SQLState(); validSQLState(code) {
			return []attribute.KeyValue{semconv.ErrorTypeKey.String(code), semconv.DBResponseStatusCode(code)}
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return []attribute.KeyValue{semconv.ErrorTypeKey.String("context.Canceled")}
	case errors.Is(err, context.DeadlineExceeded):
		return []attribute.KeyValue{semconv.ErrorTypeKey.String("context.DeadlineExceeded")}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(fmt.Sprintf("%T", err))}
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
func (r *recorder) logSlow(ctx context.Context, st *statement, elapsed time.Duration, rows int64, err error) {
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
	if err != nil {
		// The type, never the message: a driver's message may quote the
		// value that violated a constraint.
		attrs = append(attrs, slog.Any("error.type", errorAttributes(err)[0].Value.AsString()))
	}
	r.logger.LogAttrs(ctx, slog.LevelWarn, "sqlmetrics: slow query", attrs...)
}

func (r *recorder) span(ctx context.Context, st *statement, start, end time.Time, rows int64, err error, failed bool) {
	name := st.summary
	if name == "" {
		name = "db"
	}
	attrs := st.okAttr
	if r.spanQueryText && st.normalized != "" {
		attrs = append(attrs[:len(attrs):len(attrs)], semconv.DBQueryTextKey.String(st.normalized))
	}
	if rows >= 0 {
		attrs = append(attrs[:len(attrs):len(attrs)], attribute.Int64("db.response.returned_rows", rows))
	}
	if failed {
		attrs = append(attrs[:len(attrs):len(attrs)], errorAttributes(err)...)
	}
	// The span starts when the call started and is created only now, when
	// it is known that the driver did the operation (a driver that answers
	// driver.ErrSkip has not, and database/sql retries through a prepared
	// statement, which is recorded instead).
	_, span := r.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if failed {
		span.SetStatus(codes.Error, errorAttributes(err)[0].Value.AsString())
	}
	span.End(trace.WithTimestamp(end))
}
