package sqlmetrics

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// poolObserver reports a *sql.DB's sql.DBStats at each collection.
type poolObserver struct {
	once sync.Once
	reg  metric.Registration
}

func (p *poolObserver) close() error {
	var err error
	p.once.Do(func() { err = otelglobal.Unregister(p.reg) })
	return err
}

// observePool registers the pool instruments for db:
//
//   - db.client.connection.count{db.client.connection.state=used|idle}
//   - db.client.connection.max (sql.DB.SetMaxOpenConns; 0 means no limit and
//     is not reported)
//   - keel.sqlmetrics.connection.waits (counter): acquisitions that waited
//   - keel.sqlmetrics.connection.wait_time (counter, s): their total wait
//   - keel.sqlmetrics.connection.closed{keel.sqlmetrics.reason=max_idle|
//     max_idle_time|max_lifetime} (counter): connections the pool closed
//
// sql.DBStats holds totals, not each wait, so the waits are counters rather
// than the conventions' db.client.connection.wait_time histogram.
func observePool(db *sql.DB, cfg Config) (*poolObserver, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	count, err := meter.Int64ObservableUpDownCounter("db.client.connection.count",
		metric.WithUnit("{connection}"),
		metric.WithDescription("The number of connections that are currently in the state described by the state attribute."))
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: db.client.connection.count: %w", err)
	}
	maxConns, err := meter.Int64ObservableUpDownCounter("db.client.connection.max",
		metric.WithUnit("{connection}"),
		metric.WithDescription("The maximum number of open connections allowed."))
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: db.client.connection.max: %w", err)
	}
	waits, err := meter.Int64ObservableCounter("keel.sqlmetrics.connection.waits",
		metric.WithUnit("{wait}"),
		metric.WithDescription("Connection acquisitions that had to wait for a free connection (sql.DBStats.WaitCount)."))
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: keel.sqlmetrics.connection.waits: %w", err)
	}
	waitTime, err := meter.Float64ObservableCounter("keel.sqlmetrics.connection.wait_time",
		metric.WithUnit("s"),
		metric.WithDescription("Total time spent waiting for a free connection (sql.DBStats.WaitDuration)."))
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: keel.sqlmetrics.connection.wait_time: %w", err)
	}
	closed, err := meter.Int64ObservableCounter("keel.sqlmetrics.connection.closed",
		metric.WithUnit("{connection}"),
		metric.WithDescription("Connections the pool closed, by reason (sql.DBStats.MaxIdleClosed, MaxIdleTimeClosed, MaxLifetimeClosed)."))
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: keel.sqlmetrics.connection.closed: %w", err)
	}

	pool := semconv.DBClientConnectionPoolName(cfg.poolName())
	system := semconv.DBSystemNameKey.String(cfg.System)
	set := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append([]attribute.KeyValue{pool, system}, kv...)...))
	}
	var (
		used, idle, base                        = set(semconv.DBClientConnectionStateUsed), set(semconv.DBClientConnectionStateIdle), set()
		reasonKey                               = attribute.Key("keel.sqlmetrics.reason")
		byMaxIdle, byMaxIdleTime, byMaxLifetime = set(reasonKey.String("max_idle")), set(reasonKey.String("max_idle_time")), set(reasonKey.String("max_lifetime"))
	)
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := db.Stats()
		o.ObserveInt64(count, int64(s.InUse), used)
		o.ObserveInt64(count, int64(s.Idle), idle)
		if s.MaxOpenConnections > 0 {
			o.ObserveInt64(maxConns, int64(s.MaxOpenConnections), base)
		}
		o.ObserveInt64(waits, s.WaitCount, base)
		o.ObserveFloat64(waitTime, s.WaitDuration.Seconds(), base)
		o.ObserveInt64(closed, s.MaxIdleClosed, byMaxIdle)
		o.ObserveInt64(closed, s.MaxIdleTimeClosed, byMaxIdleTime)
		o.ObserveInt64(closed, s.MaxLifetimeClosed, byMaxLifetime)
		return nil
	}, count, maxConns, waits, waitTime, closed)
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: pool callback: %w", err)
	}
	return &poolObserver{reg: reg}, nil
}
