package redislimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
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
	// FailLocal degrades instead: each instance enforces its share of the
	// limit in process (Limit/N and Burst/N per key, N from Config.Instances
	// or learned from the instances' heartbeats in Redis), asks Redis again
	// at most once per second, and returns to the shared limit as soon as
	// Redis answers. Time spent degraded is metered
	// (keel.ratelimit.redis.degraded.duration).
	FailLocal
)

func (m FailMode) String() string {
	switch m {
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	case FailLocal:
		return "local"
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
	// Windows holds each key to several limits at once (e.g. 100 per minute
	// and 1,000 per hour), checked and taken in the same single round trip:
	// a call is allowed only when every window grants it. When set, Limit,
	// Period and Burst must be zero. At most 8. Each key's state is then one
	// Redis hash (field i: window i's TAT), so reordering Windows resets it.
	Windows []ratelimit.Window
	// Prefix starts every key the limiter writes: Prefix + Name + ":" + key.
	// Default DefaultPrefix.
	Prefix string
	// FailMode decides calls when Redis cannot. Default FailOpen.
	FailMode FailMode
	// Instances is how many instances share the limit, for FailLocal: each
	// enforces Limit/Instances while Redis is down. 0 (the default) learns
	// it from heartbeats each instance writes to Redis while it is up (one
	// extra command per HeartbeatEvery), and assumes 1 until one is seen.
	Instances int
	// HeartbeatEvery is how often a FailLocal instance that learns Instances
	// records itself in Redis; an instance silent for three of these is no
	// longer counted. Default 1s.
	HeartbeatEvery time.Duration
	// MeterProvider supplies the meter. Default: the otel global.
	MeterProvider metric.MeterProvider
	// Logger receives Redis failures, at most one line per second. Nil
	// means no logs.
	Logger *slog.Logger
}

// Limiter enforces per-key token buckets shared by every process that uses
// the same Redis, Prefix and Name. It is safe for concurrent use and
// implements ratelimit.Taker, so ratelimit.Middleware can use it.
type Limiter struct {
	client   redis.UniversalClient
	name     string
	prefix   string
	policy   ratelimit.Quota
	args     [2]any // interval µs, burst: fixed for the limiter's life
	windows  []window
	local    *degraded // FailLocal only
	failMode FailMode
	logger   *slog.Logger
	clock    func() time.Time // nil: Redis TIME; set only by tests

	// counts are read by the metric callback, which must not hold the
	// limiter (docs/CONVENTIONS.md), so they live apart from it.
	counts          *counts
	failures        atomic.Int64
	lastLog         atomic.Int64
	failuresCounter metric.Int64Counter
	failureAttrs    metric.AddOption
	reg             metric.Registration
	// cleanup unregisters reg when the limiter is collected without Close.
	cleanup runtime.Cleanup
	once    sync.Once
}

// counts are the decisions a Limiter made.
type counts struct {
	allowed, limited atomic.Int64
}

// New returns a Limiter, or an error naming the first invalid Config field.
// It does not contact Redis.
func New(cfg Config) (*Limiter, error) {
	if cfg.Client == nil {
		return nil, errors.New("redislimit: Config.Client is required")
	}
	windows, err := configWindows(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.FailMode != FailOpen && cfg.FailMode != FailClosed && cfg.FailMode != FailLocal {
		return nil, fmt.Errorf("redislimit: Config.FailMode must be FailOpen, FailClosed or FailLocal, got %s", cfg.FailMode)
	}
	if cfg.Instances < 0 {
		return nil, fmt.Errorf("redislimit: Config.Instances must be >= 0 (0 means learned from heartbeats), got %d", cfg.Instances)
	}
	name := cfg.Name
	if name == "" {
		name = "default"
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	w0 := windows[0]
	l := &Limiter{
		client:   cfg.Client,
		name:     name,
		prefix:   prefix + name + ":",
		policy:   ratelimit.Quota{Name: name, Quota: w0.limit, Window: w0.period, Burst: w0.burst},
		windows:  windows,
		failMode: cfg.FailMode,
		logger:   cfg.Logger,
		counts:   new(counts),
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if len(windows) > 1 {
		l.policy.Name = w0.name
	}
	l.args = [2]any{w0.intervalArg, w0.burst}
	if cfg.FailMode == FailLocal {
		if l.local, err = newDegraded(cfg); err != nil {
			return nil, err
		}
	}
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
	degradedTime, err := meter.Float64ObservableCounter("keel.ratelimit.redis.degraded.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time a FailLocal limiter spent deciding in process because Redis was down."))
	if err != nil {
		return err
	}
	nameOnly := metric.WithAttributeSet(attribute.NewSet(nameKV))
	// The callback holds the counts and the degraded state (neither refers
	// to the limiter), never l, so a limiter dropped without Close is
	// collected and its callback unregistered.
	c, local := l.counts, l.local
	l.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(decisions, c.allowed.Load(), allowed)
		o.ObserveInt64(decisions, c.limited.Load(), limited)
		if local != nil {
			o.ObserveFloat64(degradedTime, local.degradedFor(time.Now()).Seconds(), nameOnly)
		}
		return nil
	}, decisions, degradedTime)
	if err != nil {
		return err
	}
	l.cleanup = runtime.AddCleanup(l, func(r metric.Registration) { _ = otelglobal.Unregister(r) }, l.reg)
	return nil
}

// Take takes one unit from key's bucket in one round trip to Redis (a single
// EVALSHA of an atomic script that reads Redis's own clock, so clock skew
// between instances does not matter).
//
// When Redis fails, FailOpen allows the call and returns a nil error;
// FailClosed returns an error wrapping ErrUnavailable. A done ctx returns
// ctx.Err() in either mode.
func (l *Limiter) Take(ctx context.Context, key string) (ratelimit.Decision, error) {
	return l.TakeN(ctx, key, 1)
}

// TakeN is Take for a call that costs n units, from every window at once
// (still one round trip). A cost below 1 or above the smallest Burst is an
// error wrapping ratelimit.ErrInvalidCost, without contacting Redis.
func (l *Limiter) TakeN(ctx context.Context, key string, n int) (ratelimit.Decision, error) {
	if minBurst := l.minBurst(); n < 1 || n > minBurst {
		return ratelimit.Decision{}, fmt.Errorf("%w: limiter %q: cost %d is not between 1 and the smallest Burst, %d", ratelimit.ErrInvalidCost, l.name, n, minBurst)
	}
	if l.local != nil && l.local.skipRedis(time.Now()) {
		return l.failed(ctx, errDegraded, key, n)
	}
	if len(l.windows) > 1 {
		return l.takeWindows(ctx, key, n)
	}
	nowArg := l.nowArg()
	res, err := gcra.Run(ctx, l.client, []string{l.prefix + key}, l.args[0], l.args[1], n, nowArg).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("redislimit: script returned %d values, want 2", len(res))
	}
	if err != nil {
		return l.failed(ctx, err, key, n)
	}
	allowed := res[0] == 1
	l.count(allowed)
	l.answered(ctx)
	return l.windows[0].decision(allowed, res[1], n), nil
}

// errDegraded stands for Redis's last failure while a FailLocal limiter
// waits to ask it again.
var errDegraded = errors.New("redislimit: degraded, Redis not asked until the next probe")

// answered tells a FailLocal limiter that Redis decided a call.
func (l *Limiter) answered(ctx context.Context) {
	if l.local != nil {
		l.local.answered(ctx, l, time.Now())
	}
}

func (l *Limiter) nowArg() string {
	if l.clock == nil {
		return ""
	}
	return strconv.FormatInt(l.clock().UnixMicro(), 10)
}

func (l *Limiter) count(allowed bool) {
	if allowed {
		l.counts.allowed.Add(1)
	} else {
		l.counts.limited.Add(1)
	}
}

func (l *Limiter) minBurst() int {
	b := l.windows[0].burst
	for _, w := range l.windows[1:] {
		b = min(b, w.burst)
	}
	return b
}

func (l *Limiter) failed(ctx context.Context, err error, key string, n int) (ratelimit.Decision, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ratelimit.Decision{}, ctxErr
	}
	l.failures.Add(1)
	l.failuresCounter.Add(ctx, 1, l.failureAttrs)
	if err != errDegraded {
		l.logFailure(ctx, err)
	}
	if l.failMode == FailLocal {
		return l.local.take(ctx, l, key, n)
	}
	if l.failMode == FailClosed {
		l.counts.limited.Add(1)
		return ratelimit.Decision{}, fmt.Errorf("%w: limiter %q: %w", ErrUnavailable, l.name, err)
	}
	l.counts.allowed.Add(1)
	// Fail open: answer as a fresh bucket would, since nothing better is known.
	return ratelimit.Decision{Allowed: true, Remaining: l.minBurst() - n}, nil
}

// logFailure logs at most one failure per second, so that an outage does
// not flood the log at the request rate.
func (l *Limiter) logFailure(ctx context.Context, err error) {
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

// Policy describes the per-key limit for clients: with several windows, the
// first (Policies lists them all).
func (l *Limiter) Policy() ratelimit.Quota { return l.policy }

// Policies describes every window, in Config.Windows order (one Quota,
// named after the limiter, when Windows is not used).
func (l *Limiter) Policies() []ratelimit.Quota {
	if len(l.windows) == 1 {
		return []ratelimit.Quota{l.policy}
	}
	out := make([]ratelimit.Quota, len(l.windows))
	for i, w := range l.windows {
		out[i] = ratelimit.Quota{Name: w.name, Quota: w.limit, Window: w.period, Burst: w.burst}
	}
	return out
}

// Close unregisters the limiter's metric callback at once. It does not
// close the Redis client. Close is idempotent. A limiter dropped without
// Close is not kept alive by its metric callback: the callback is
// unregistered when the limiter is collected.
func (l *Limiter) Close() error {
	var err error
	l.once.Do(func() {
		l.cleanup.Stop()
		err = otelglobal.Unregister(l.reg)
		if l.local != nil {
			l.local.close()
		}
	})
	return err
}
