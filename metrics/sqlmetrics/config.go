package sqlmetrics

import (
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config configures the instrumentation of one database.
type Config struct {
	// System is db.system.name, as the OpenTelemetry conventions spell it:
	// "postgresql", "mysql", "mariadb", "sqlite", ... Required: a driver
	// cannot be asked which server it talks to. It also chooses how
	// statements are lexed (MySQL's "..." is a string, PostgreSQL's an
	// identifier).
	System string
	// Namespace is db.namespace (the database name), recorded when set.
	Namespace string
	// PoolName is db.client.connection.pool.name on the pool metrics. Empty
	// means System, or System/Namespace when Namespace is set.
	PoolName string

	// MeterProvider creates the instruments. Nil means the otel global.
	MeterProvider metric.MeterProvider
	// TracerProvider, with Tracing, creates client spans. Nil means the otel
	// global.
	TracerProvider trace.TracerProvider
	// Tracing creates a client span per operation, named by its
	// db.query.summary, with the metric's attributes.
	Tracing bool
	// SpanQueryText adds db.query.text to spans: the normalised statement,
	// with every literal replaced by "?" and comments removed. Off by
	// default: even literal-free text shows a schema to whoever reads
	// traces. Needs Tracing.
	SpanQueryText bool

	// SlowQueryThreshold, when positive, logs every operation that takes
	// at least this long to Logger (at Warn) and counts it in
	// keel.sqlmetrics.slow_queries. Zero means no slow-query log.
	SlowQueryThreshold time.Duration
	// Logger receives the slow-query log. Required when
	// SlowQueryThreshold is set; nil otherwise means no logs.
	Logger *slog.Logger
}

func (c Config) validate() error {
	if c.System == "" {
		return fmt.Errorf("sqlmetrics: Config.System is required (db.system.name: \"postgresql\", \"mysql\", \"mariadb\", \"sqlite\", ...)")
	}
	for i := 0; i < len(c.System); i++ {
		ch := c.System[i]
		if !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '.' || ch == '_') {
			return fmt.Errorf("sqlmetrics: Config.System must be a lower-case db.system.name such as \"postgresql\", got %q", c.System)
		}
	}
	if c.SlowQueryThreshold < 0 {
		return fmt.Errorf("sqlmetrics: Config.SlowQueryThreshold must be >= 0, got %v", c.SlowQueryThreshold)
	}
	if c.SlowQueryThreshold > 0 && c.Logger == nil {
		return fmt.Errorf("sqlmetrics: Config.Logger is required when Config.SlowQueryThreshold is set")
	}
	if c.SpanQueryText && !c.Tracing {
		return fmt.Errorf("sqlmetrics: Config.SpanQueryText needs Config.Tracing")
	}
	return nil
}

func (c Config) poolName() string {
	switch {
	case c.PoolName != "":
		return c.PoolName
	case c.Namespace != "":
		return c.System + "/" + c.Namespace
	}
	return c.System
}
