package rediscache

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/keel-go/keel/cache"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
)

// Defaults used for zero Config fields.
const (
	DefaultPrefix       = "keel:cache:"
	DefaultTTL          = 10 * time.Minute
	DefaultLocalTTL     = time.Minute
	DefaultOpTimeout    = 250 * time.Millisecond
	DefaultRetryAfter   = time.Second
	invalidationChannel = "invalidate"
)

// Codec turns values into bytes for Redis and back.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec (encoding/json).
type JSON struct{}

// Marshal encodes v as JSON.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into v.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Config configures a two-tier Cache. The zero value of every field but
// Client means the documented default.
type Config[V any] struct {
	// Client is the Redis connection (required). The Cache does not close it.
	Client redis.UniversalClient

	// Prefix starts every Redis key and the invalidation channel's name
	// (Prefix + "invalidate"). Instances that share a cache must use the
	// same Prefix. Default "keel:cache:".
	Prefix string

	// TTL is how long a value lives in Redis. Default 10 min.
	TTL time.Duration

	// Local configures the in-process tier. Local.TTL defaults to
	// min(1 min, TTL): it bounds how long an instance can serve a value
	// another instance has replaced when an invalidation message is lost
	// (see the package documentation). Local.MeterProvider defaults to
	// MeterProvider, Local.Logger to Logger.
	Local cache.Config[string, V]

	// Codec encodes values for Redis. Default JSON.
	Codec Codec

	// OpTimeout bounds each Redis command. Default 250 ms.
	OpTimeout time.Duration

	// RetryAfter is how long the cache bypasses Redis after a Redis
	// failure, serving from the local tier alone, before trying Redis
	// again. One failing command per RetryAfter, not one per request,
	// reaches a Redis that is down. Default 1 s.
	RetryAfter time.Duration

	// MeterProvider provides the instruments (see docs/METRICS.md). Nil
	// means the otel global provider.
	MeterProvider metric.MeterProvider

	// Logger receives Redis outages and recoveries (Warn / Info). Nil means
	// no logs (New sets one that discards). Keys and values are never
	// logged.
	Logger *slog.Logger
}

func (c Config[V]) withDefaults() (Config[V], error) {
	if c.Client == nil {
		return c, errors.New("rediscache: Config.Client is required")
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.TTL < 0 {
		return c, fmt.Errorf("rediscache: Config.TTL must be >= 0, got %v", c.TTL)
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.OpTimeout < 0 {
		return c, fmt.Errorf("rediscache: Config.OpTimeout must be >= 0, got %v", c.OpTimeout)
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.RetryAfter < 0 {
		return c, fmt.Errorf("rediscache: Config.RetryAfter must be >= 0, got %v", c.RetryAfter)
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.Codec == nil {
		c.Codec = JSON{}
	}
	if c.Local.TTL == 0 {
		c.Local.TTL = min(DefaultLocalTTL, c.TTL)
	}
	if c.Local.TTL > c.TTL {
		return c, fmt.Errorf("rediscache: Config.Local.TTL (%v) must not exceed Config.TTL (%v)", c.Local.TTL, c.TTL)
	}
	if c.Local.MeterProvider == nil {
		c.Local.MeterProvider = c.MeterProvider
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Local.Logger == nil {
		c.Local.Logger = c.Logger
	}
	return c, nil
}
