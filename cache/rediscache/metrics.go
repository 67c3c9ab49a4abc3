package rediscache

import (
	"context"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentScope = "github.com/keel-go/keel/cache/rediscache"

// observer holds the Redis-tier instruments; the local tier has its own
// (keel.cache.*) from package cache.
type observer struct {
	name         attribute.KeyValue
	errors       metric.Int64Counter
	registration metric.Registration
}

func newObserver[V any](c *Cache[V]) (*observer, error) {
	mp := c.cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	name := c.cfg.Local.Name
	if name == "" {
		name = "default"
	}
	o := &observer{name: attribute.String("keel.cache.name", name)}
	m := mp.Meter(instrumentScope)
	var err error
	if o.errors, err = m.Int64Counter("keel.cache.redis.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Failed Redis commands by operation (get, set, delete, publish, subscribe).")); err != nil {
		return nil, err
	}
	requests, err := m.Int64ObservableCounter("keel.cache.redis.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Reads that reached Redis, by result (hit, miss)."))
	if err != nil {
		return nil, err
	}
	invalidations, err := m.Int64ObservableCounter("keel.cache.redis.invalidations", metric.WithUnit("{message}"),
		metric.WithDescription("Invalidation messages by direction (sent, received)."))
	if err != nil {
		return nil, err
	}
	degraded, err := m.Int64ObservableGauge("keel.cache.redis.degraded", metric.WithUnit("1"),
		metric.WithDescription("1 while Redis is failing and the local tier serves alone, else 0."))
	if err != nil {
		return nil, err
	}
	with := func(k, v string) metric.ObserveOption {
		return metric.WithAttributes(o.name, attribute.String(k, v))
	}
	o.registration, err = m.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		obs.ObserveInt64(requests, int64(c.redisHits.Load()), with("keel.cache.result", "hit"))
		obs.ObserveInt64(requests, int64(c.redisMisses.Load()), with("keel.cache.result", "miss"))
		obs.ObserveInt64(invalidations, int64(c.sent.Load()), with("keel.cache.redis.direction", "sent"))
		obs.ObserveInt64(invalidations, int64(c.received.Load()), with("keel.cache.redis.direction", "received"))
		d := int64(0)
		if c.degraded.Load() {
			d = 1
		}
		obs.ObserveInt64(degraded, d, metric.WithAttributes(o.name))
		return nil
	}, requests, invalidations, degraded)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (o *observer) redisError(op string) {
	o.errors.Add(context.Background(), 1, metric.WithAttributes(o.name, attribute.String("keel.cache.redis.operation", op)))
}

func (o *observer) close() {
	if o.registration != nil {
		_ = otelglobal.Unregister(o.registration)
	}
}
