package cache

import (
	"context"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Stats is a snapshot of a cache's counters since New.
type Stats struct {
	// Hits and Misses count lookups (Get, GetOrLoad, GetOrLoadMany keys).
	// A cached NotFound counts as a hit for GetOrLoad and a miss for Get.
	Hits, Misses uint64
	// LoadSuccesses, LoadErrors and LoadsNotFound count finished loader
	// (and batch loader) calls by outcome; refreshes are counted apart.
	LoadSuccesses, LoadErrors, LoadsNotFound uint64
	// LoadTime is the total time spent in loaders, refreshes included.
	LoadTime time.Duration
	// Evicted, Expired and Deleted count entries that left the cache, by
	// reason (NotFound entries included).
	Evicted, Expired, Deleted uint64
	// StaleServed counts failed loads answered with an expired value
	// (Config.StaleIfError).
	StaleServed uint64
	// Refreshes and RefreshErrors count finished refresh-ahead loads.
	Refreshes, RefreshErrors uint64
	// Rejected counts values refused for weighing more than MaxWeight
	// (Config.Weigher), by Set or by a load.
	Rejected uint64
	// Stored is the number of stored entries, including expired and
	// NotFound ones not yet removed (Len counts live entries only).
	Stored int
	// Weight is the stored entries' total weight (Stored without a
	// Weigher); it never exceeds Config.Capacity.
	Weight int64
}

// HitRatio is Hits / (Hits + Misses), or 0 before any lookup.
func (s Stats) HitRatio() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// instrumentScope is the OpenTelemetry instrumentation scope.
const instrumentScope = "github.com/keel-go/keel/cache"

// observer holds the cache's OpenTelemetry instruments. Counters are
// asynchronous: they read Stats when a reader collects, so lookups pay
// nothing for metrics. Only loads record synchronously.
type observer struct {
	name         attribute.KeyValue
	tracer       trace.Tracer
	loadDuration metric.Float64Histogram
	registration metric.Registration
}

func newObserver[K comparable, V any](c *Cache[K, V]) (*observer, error) {
	mp := c.cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	tp := c.cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	o := &observer{
		name:   attribute.String("keel.cache.name", c.cfg.Name),
		tracer: tp.Tracer(instrumentScope),
	}
	m := mp.Meter(instrumentScope)
	var err error
	if o.loadDuration, err = m.Float64Histogram("keel.cache.load.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of loader calls (loads and refreshes).")); err != nil {
		return nil, err
	}
	requests, err := m.Int64ObservableCounter("keel.cache.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Cache lookups by result (hit, miss)."))
	if err != nil {
		return nil, err
	}
	loads, err := m.Int64ObservableCounter("keel.cache.loads", metric.WithUnit("{load}"),
		metric.WithDescription("Finished loads by result (success, error, not_found), refreshes excluded."))
	if err != nil {
		return nil, err
	}
	evictions, err := m.Int64ObservableCounter("keel.cache.evictions", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries that left the cache, by reason (evicted, expired, deleted)."))
	if err != nil {
		return nil, err
	}
	stale, err := m.Int64ObservableCounter("keel.cache.stale_served", metric.WithUnit("{response}"),
		metric.WithDescription("Failed loads answered with an expired value (stale-if-error)."))
	if err != nil {
		return nil, err
	}
	refreshes, err := m.Int64ObservableCounter("keel.cache.refreshes", metric.WithUnit("{refresh}"),
		metric.WithDescription("Finished refresh-ahead loads by result (success, error)."))
	if err != nil {
		return nil, err
	}
	entries, err := m.Int64ObservableGauge("keel.cache.entries", metric.WithUnit("{entry}"),
		metric.WithDescription("Stored entries, including expired ones not yet removed."))
	if err != nil {
		return nil, err
	}
	with := func(k, v string) metric.ObserveOption {
		return metric.WithAttributes(o.name, attribute.String(k, v))
	}
	o.registration, err = m.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		st := c.Stats()
		obs.ObserveInt64(requests, int64(st.Hits), with("keel.cache.result", "hit"))
		obs.ObserveInt64(requests, int64(st.Misses), with("keel.cache.result", "miss"))
		obs.ObserveInt64(loads, int64(st.LoadSuccesses), with("keel.cache.load.result", "success"))
		obs.ObserveInt64(loads, int64(st.LoadErrors), with("keel.cache.load.result", "error"))
		obs.ObserveInt64(loads, int64(st.LoadsNotFound), with("keel.cache.load.result", "not_found"))
		obs.ObserveInt64(evictions, int64(st.Evicted), with("keel.cache.eviction.reason", "evicted"))
		obs.ObserveInt64(evictions, int64(st.Expired), with("keel.cache.eviction.reason", "expired"))
		obs.ObserveInt64(evictions, int64(st.Deleted), with("keel.cache.eviction.reason", "deleted"))
		obs.ObserveInt64(stale, int64(st.StaleServed), metric.WithAttributes(o.name))
		obs.ObserveInt64(refreshes, int64(st.Refreshes), with("keel.cache.refresh.result", "success"))
		obs.ObserveInt64(refreshes, int64(st.RefreshErrors), with("keel.cache.refresh.result", "error"))
		obs.ObserveInt64(entries, int64(st.Stored), metric.WithAttributes(o.name))
		return nil
	}, requests, loads, evictions, stale, refreshes, entries)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// startSpan starts the span of one load.
func (o *observer) startSpan(ctx context.Context) (context.Context, func()) {
	ctx, span := o.tracer.Start(ctx, "keel.cache.load", trace.WithAttributes(o.name))
	return ctx, func() { span.End() }
}

// recordLoad records a load's duration.
func (o *observer) recordLoad(ctx context.Context, result string, refresh bool, d time.Duration) {
	o.loadDuration.Record(ctx, d.Seconds(), metric.WithAttributes(o.name,
		attribute.String("keel.cache.load.result", result), attribute.Bool("keel.cache.load.refresh", refresh)))
}

// close unregisters the metric callback.
func (o *observer) close() {
	if o.registration != nil {
		_ = otelglobal.Unregister(o.registration)
	}
}
