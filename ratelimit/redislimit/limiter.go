package redislimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/keel-go/keel/ratelimit"
)

//go:embed gcra.lua
var gcraSource string

var gcra = redis.NewScript(gcraSource)

// scope is the instrumentation scope of every instrument.
const scope = "github.com/keel-go/keel/ratelimit/redislimit"

// DefaultPrefix starts every Redis key the limiter writes when
// Config.Prefix is empty.
const DefaultPrefix = "keel:ratelimit:"

// ErrUnavailable is returned (wrapped) by Take in FailClosed mode when Redis
// cannot be reached or answers with an error.
var ErrUnavailable = errors.New("redislimit: Redis unavailable")

// FailMode says what the limiter decides when Redis cannot.
type FailMode int

const (
	// FailOpen (the default) allows the call: an outage of the limiter's
	// store does not become an outage of the API. Each such decision is
	// counted by keel.ratelimit.redis.failures.
	FailOpen FailMode = iota
	// FailClosed refuses the call with an error wrapping ErrUnavailable
	// (the HTTP middleware answers 503).
	FailClosed
)

func (m FailMode) String() string {
	switch m {
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	default:
		return "FailMode(" + strconv.Itoa(int(m)) + ")"
	}
}

// Config configures a Limiter.
type Config struct {
	// Client talks to Redis (a *redis.Client, *redis.ClusterClient or
	// *redis.Ring). Required. The limiter never closes it.
	Client redis.UniversalClient
	// Name identifies the limiter in Redis keys, metrics and HTTP headers.
	// Default "default". Limiters in different processes that share a Name
	// (and Prefix) share their buckets.
	Name string
	// Limit is the number of units restored per Period to each key.
	// Required (> 0).
	Limit int
	// Period is the time over which Limit units are restored. Default 1s;
	// at least 1ms.
	Period time.Duration
	// Burst is each key's bucket capacity. Default Limit.
	Burst int
	// Prefix starts every key the limiter writes: Prefix + Name + ":" + key.
	// Default DefaultPrefix.
	Prefix string
	// FailMode decides calls when Redis cannot. Default FailOpen.
	FailMode FailMode
	// MeterProvider supplies the meter. Default: the otel global.
	MeterProvider metric.MeterProvider
	// Logger receives Redis failures, at most one line per second. Default:
	// no logs.
	Logger *slog.Logger
}

// Limiter enforces per-key token buckets shared by every process that uses
// the same Redis, Prefix and Name. It is safe for concurrent use and
// implements ratelimit.Taker, so ratelimit.Middleware can use it.
type Limiter struct {
	client   redis.UniversalClient
	name     string
	prefix   string
	policy   ratelimit.Policy
	interval time.Duration
	args     [3]any // interval µs, burst, cost: fixed for the limiter's life
	failMode FailMode
	logger   *slog.Logger
	clock    func() time.Time // nil: Redis TIME; set only by tests

	allowed, limited, failures atomic.Int64
	lastLog                    atomic.Int64
	failuresCounter            metric.Int64Counter
	failureAttrs               metric.AddOption
	reg                        metric.Registration
	once                       sync.Once
}

// New returns a Limiter, or an error naming the first invalid Config field.
// It does not contact Redis.
func New(cfg Config) (*Limiter, error) {
	if cfg.Client == nil {
		return nil, errors.New("redislimit: Config.Client is required")
	}
	if cfg.Limit <= 0 {
		return nil, fmt.Errorf("redislimit: Config.Limit must be > 0, got %d", cfg.Limit)
	}
	period := cfg.Period
	if period == 0 {
		period = time.Second
	}
	if period < time.Millisecond {
		return nil, fmt.Errorf("redislimit: Config.Period must be at least 1ms (0 means 1s), got %s", cfg.Period)
	}
	burst := cfg.Burst
	if burst < 0 {
		return nil, fmt.Errorf("redislimit: Config.Burst must be >= 0 (0 means Limit), got %d", cfg.Burst)
	}
	if burst == 0 {
		burst = cfg.Limit
	}
	if cfg.FailMode != FailOpen && cfg.FailMode != FailClosed {
		return nil, fmt.Errorf("redislimit: Config.FailMode must be FailOpen or FailClosed, got %s", cfg.FailMode)
	}
	name := cfg.Name
	if name == "" {
		name = "default"
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	interval := period / time.Duration(cfg.Limit)
	if interval < time.Microsecond {
		return nil, fmt.Errorf("redislimit: Config.Limit %d per %s restores a unit faster than every microsecond, finer than Redis TIME", cfg.Limit, period)
	}
	l := &Limiter{
		client:   cfg.Client,
		name:     name,
		prefix:   prefix + name + ":",
		policy:   ratelimit.Policy{Name: name, Quota: cfg.Limit, Window: period, Burst: burst},
		interval: interval,
		failMode: cfg.FailMode,
		logger:   cfg.Logger,
	}
	l.args = [3]any{strconv.FormatFloat(float64(period)/float64(cfg.Limit)/float64(time.Microsecond), 'f', -1, 64), burst, 1}
	if err := l.instrument(cfg.MeterProvider); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Limiter) instrument(mp metric.MeterProvider) error {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(scope)
	nameKV := attribute.String("keel.ratelimit.name", l.name)
	var err error
	l.failuresCounter, err = meter.Int64Counter("keel.ratelimit.redis.failures",
		metric.WithUnit("{decision}"),
		metric.WithDescription("Decisions made without Redis because it failed, by fail mode."))
	if err != nil {
		return err
	}
	l.failureAttrs = metric.WithAttributeSet(attribute.NewSet(nameKV,
		attribute.String("keel.ratelimit.fail_mode", l.failMode.String())))
	decisions, err := meter.Int64ObservableCounter("keel.ratelimit.decisions",
		metric.WithUnit("{decision}"),
		metric.WithDescription("Calls a limiter allowed or limited, by limiter name and decision."))
	if err != nil {
		return err
	}
	allowed := metric.WithAttributeSet(attribute.NewSet(nameKV, attribute.String("keel.ratelimit.decision", "allowed")))
	limited := metric.WithAttributeSet(attribute.NewSet(nameKV, attribute.String("keel.ratelimit.decision", "limited")))
	l.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(decisions, l.allowed.Load(), allowed)
		o.ObserveInt64(decisions, l.limited.Load(), limited)
		return nil
	}, decisions)
	return err
}

// Take takes one unit from key's bucket in one round trip to Redis (a single
// EVALSHA of an atomic script that reads Redis's own clock, so clock skew
// between instances does not matter).
//
// When Redis fails, FailOpen allows the call and returns a nil error;
// FailClosed returns an error wrapping ErrUnavailable. A done ctx returns
// ctx.Err() in either mode.
func (l *Limiter) Take(ctx context.Context, key string) (ratelimit.Decision, error) {
	nowArg := ""
	if l.clock != nil {
		nowArg = strconv.FormatInt(l.clock().UnixMicro(), 10)
	}
	res, err := gcra.Run(ctx, l.client, []string{l.prefix + key}, l.args[0], l.args[1], l.args[2], nowArg).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("redislimit: script returned %d values, want 2", len(res))
	}
	if err != nil {
		return l.failed(ctx, err)
	}
	allowed := res[0] == 1
	if allowed {
		l.allowed.Add(1)
	} else {
		l.limited.Add(1)
	}
	// The bucket holds (tolerance - (TAT - now)) / interval units.
	ahead := time.Duration(res[1]) * time.Microsecond
	tokens := float64(l.policy.Burst) - float64(ahead)/float64(l.interval)
	return ratelimit.DecisionFromTokens(allowed, tokens, l.policy.Burst, l.interval), nil
}

func (l *Limiter) failed(ctx context.Context, err error) (ratelimit.Decision, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ratelimit.Decision{}, ctxErr
	}
	l.failures.Add(1)
	l.failuresCounter.Add(ctx, 1, l.failureAttrs)
	l.logFailure(ctx, err)
	if l.failMode == FailClosed {
		l.limited.Add(1)
		return ratelimit.Decision{}, fmt.Errorf("%w: limiter %q: %w", ErrUnavailable, l.name, err)
	}
	l.allowed.Add(1)
	// Fail open: answer as a fresh bucket would, since nothing better is known.
	return ratelimit.Decision{Allowed: true, Remaining: l.policy.Burst - 1}, nil
}

// logFailure logs at most one failure per second, so that an outage does
// not flood the log at the request rate.
func (l *Limiter) logFailure(ctx context.Context, err error) {
	if l.logger == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.logger.LogAttrs(ctx, slog.LevelWarn, "redislimit: Redis failed; deciding without it",
		slog.String("keel.ratelimit.name", l.name),
		slog.String("keel.ratelimit.fail_mode", l.failMode.String()),
		slog.Int64("failures_total", l.failures.Load()),
		slog.String("error", err.Error()))
}

// Allow is Take reduced to its answer: whether key may proceed.
func (l *Limiter) Allow(ctx context.Context, key string) (bool, error) {
	d, err := l.Take(ctx, key)
	return d.Allowed, err
}

// Policy describes the per-key limit for clients.
func (l *Limiter) Policy() ratelimit.Policy { return l.policy }

// Close unregisters the limiter's metric callback. It does not close the
// Redis client. Close is idempotent.
func (l *Limiter) Close() error {
	var err error
	l.once.Do(func() { err = l.reg.Unregister() })
	return err
}
