package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/metrics/dashboard"
	"github.com/keel-go/keel/ratelimit/redislimit"
)

// redisDownModes are the values of Config.RateLimitRedisDown.
var redisDownModes = map[string]redislimit.FailMode{
	"local": redislimit.FailLocal, "open": redislimit.FailOpen, "closed": redislimit.FailClosed,
}

// Config configures the sales API. The zero value of each field is its
// documented default; New rejects the rest with an error naming the field.
type Config struct {
	// DataDir holds the SQLite database, the key files, the audit log and
	// the backups. Required; created (0700) if missing.
	DataDir string
	// DatabaseURL selects PostgreSQL ("postgres://…"); empty means the
	// embedded SQLite database DataDir/sales.db.
	DatabaseURL string
	// RedisAddr, when set, moves rate limits and (with IdempotencyInRedis)
	// idempotency records to Redis, so several instances share them.
	RedisAddr string
	// RedisPrefix starts every Redis key the service writes (default
	// "salesapi:"), so several deployments can share one Redis.
	RedisPrefix string
	// IdempotencyInRedis keeps idempotency records in Redis instead of the
	// database. Orders are then completed after their transaction commits,
	// rather than inside it; a retry after a crash between the two runs
	// again, but the order row's unique idempotency key refuses a second
	// order and the retry is answered with the first. Requires RedisAddr.
	IdempotencyInRedis bool
	// IdempotencyLease is how long a request holds its Idempotency-Key
	// before another may take it over (default 2m); it must exceed the
	// longest an order can take (payment retries are bounded at 5s).
	IdempotencyLease time.Duration
	// APIKeys are the bearer tokens accepted. Required.
	APIKeys []APIKey
	// GatewayURL is the payment gateway's base URL. Required.
	GatewayURL string
	// RateLimit is the steady number of requests per minute per API key
	// (default 6000), with a burst of RateBurst (default RateLimit/10, at
	// least 10).
	RateLimit int
	RateBurst int
	// RateLimitHour holds each API key to this many requests per hour as
	// well (default 10 × RateLimit, burst the same): a client may run at
	// the minute limit for a while, not all day. Both limits are checked
	// and taken together; the RateLimit headers report both ("api_key" per
	// minute, "api_key_hour" per hour).
	RateLimitHour int
	// RateLimitRedisDown is what the per-key limits do while Redis is down
	// (with RedisAddr): "local" (the default) degrades — each instance
	// enforces its share of both limits (RateLimit / Instances, and the
	// same of the burst and the hour), asks Redis again each second and
	// returns to the shared limits when it answers (redislimit.FailLocal);
	// "open" admits everything; "closed" refuses everything (503).
	RateLimitRedisDown string
	// Instances is how many instances share the Redis limits, for
	// FailLocal; 0 learns it from the instances' heartbeats in Redis.
	Instances int
	// CustomerCacheTTL bounds how stale a cached customer can be on another
	// instance (default 30s; writes invalidate this instance's copy at once).
	CustomerCacheTTL time.Duration
	// ReportCacheTTL is how long a sales report is served from cache; after
	// 60 % of it, reads trigger one background refresh (default 10s). While
	// the database answers a report is at most this old; when a refresh
	// fails, the old report is served for up to a minute more.
	ReportCacheTTL time.Duration
	// BreakerOpen is how long the payment breaker stays open before it lets
	// a probe through (default 2s).
	BreakerOpen time.Duration
	// InstanceName names this instance's audit log in the witness table of
	// the database (app.WitnessTable): one name per instance, stable across
	// restarts and not derived from the data directory's content, so that
	// deleting the directory does not also forget what was witnessed.
	// Default "<hostname>:<absolute DataDir>".
	InstanceName string
	// AuditWitnessFile, when set, keeps the audit log's witness in this file
	// (outside DataDir, on a volume whoever can edit the log cannot write)
	// instead of a row of the service's database (app.WitnessTable).
	AuditWitnessFile string
	// AuditAcceptRollback, when the audit log was found behind its witness,
	// accepts exactly that loss (the log id, seq and hash the refusal named)
	// and lets the service continue the log, recording the acceptance in it.
	AuditAcceptRollback *audit.AcceptRollback
	// AuditSigningKeyFile, when set, is the PEM (PKCS #8) Ed25519 key that
	// signs audit checkpoints, read from there (mode 0600) instead of the
	// data directory. Keep it apart from the log: whoever holds both can
	// rewrite the log and re-sign it.
	AuditSigningKeyFile string
	// IPRateLimit is the steady number of requests per minute per client
	// IP, counted before authentication so that floods of unauthenticated
	// requests are cut before they are audited (default 4 × RateLimit,
	// burst 4 × RateBurst). Failed authentications are further limited to
	// AuthFailuresPerMinute per client IP (default 60, burst 20); refusals
	// by either are not audited, only counted (keel.ratelimit metrics).
	IPRateLimit           int
	AuthFailuresPerMinute int
	// BackupEvery schedules backups; zero means only on request.
	BackupEvery time.Duration
	// Logger receives the service's logs. The service logs no customer
	// data itself; wrap the handler with crypto/mask (as main does) so that
	// nothing a dependency logs can leak PII either. Nil means no logs.
	Logger *slog.Logger
	// SlowQueryThreshold logs every database statement at least this slow
	// (normalised, without literals or arguments, with the request's route,
	// request id and trace id) and counts it in
	// keel_sqlmetrics_slow_queries_total. Zero means 250 ms; negative turns
	// the slow-query log off.
	SlowQueryThreshold time.Duration
	// MetricsHandler serves GET /metrics (from metrics.Setup); nil means no
	// /metrics route.
	MetricsHandler http.Handler
	// Dashboard, from NewDashboard, is served at /admin/dashboard/ to the
	// admin role; nil means no dashboard.
	Dashboard *dashboard.Dashboard
	// Profiling serves Go's profiler (heap, goroutines, CPU, trace) under
	// GET /v1/admin/pprof/ to the admin role. Off by default.
	Profiling bool
}

func knownRedisDownMode(s string) bool {
	_, ok := redisDownModes[s]
	return ok
}

// maxPerMinuteInRedis is the highest rate redislimit keeps per minute: one
// request restored per microsecond.
const maxPerMinuteInRedis = int(time.Minute / time.Microsecond)

func (c *Config) validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("salesapi: Config.DataDir is required")
	case len(c.APIKeys) == 0:
		return errors.New("salesapi: Config.APIKeys needs at least one key")
	case c.GatewayURL == "":
		return errors.New("salesapi: Config.GatewayURL is required")
	case c.IdempotencyInRedis && c.RedisAddr == "":
		return errors.New("salesapi: Config.IdempotencyInRedis requires Config.RedisAddr")
	case c.RateLimit < 0:
		return fmt.Errorf("salesapi: Config.RateLimit must be >= 0, got %d", c.RateLimit)
	case c.RateBurst < 0:
		return fmt.Errorf("salesapi: Config.RateBurst must be >= 0, got %d", c.RateBurst)
	case c.RateLimitHour < 0:
		return fmt.Errorf("salesapi: Config.RateLimitHour must be >= 0, got %d", c.RateLimitHour)
	case c.RateLimitRedisDown != "" && !knownRedisDownMode(c.RateLimitRedisDown):
		return fmt.Errorf("salesapi: Config.RateLimitRedisDown must be local, open or closed, got %q", c.RateLimitRedisDown)
	case c.Instances < 0:
		return fmt.Errorf("salesapi: Config.Instances must be >= 0 (0: learned from heartbeats), got %d", c.Instances)
	case c.IdempotencyLease != 0 && c.IdempotencyLease < 10*time.Second:
		return fmt.Errorf("salesapi: Config.IdempotencyLease must be at least 10s (an order can take 5s), got %s", c.IdempotencyLease)
	case c.BreakerOpen < 0:
		return fmt.Errorf("salesapi: Config.BreakerOpen must be >= 0, got %s", c.BreakerOpen)
	case c.BackupEvery < 0:
		return fmt.Errorf("salesapi: Config.BackupEvery must be >= 0, got %s", c.BackupEvery)
	case c.IPRateLimit < 0:
		return fmt.Errorf("salesapi: Config.IPRateLimit must be >= 0, got %d", c.IPRateLimit)
	case c.AuthFailuresPerMinute < 0:
		return fmt.Errorf("salesapi: Config.AuthFailuresPerMinute must be >= 0, got %d", c.AuthFailuresPerMinute)
	}
	if c.RateLimit == 0 {
		c.RateLimit = 6000
	}
	if c.RateBurst == 0 {
		c.RateBurst = max(c.RateLimit/10, 10)
	}
	if c.RateLimitRedisDown == "" {
		c.RateLimitRedisDown = "local"
	}
	if c.RateLimitHour == 0 {
		c.RateLimitHour = 10 * c.RateLimit
	}
	// Redis keeps time in whole microseconds: a limit that restores a
	// request faster than that cannot be kept there.
	if c.RedisAddr != "" && c.RateLimit > maxPerMinuteInRedis {
		return fmt.Errorf("salesapi: Config.RateLimit of %d per minute is finer than the Redis rate limiter keeps (Redis counts in microseconds): at most %d with Config.RedisAddr", c.RateLimit, maxPerMinuteInRedis)
	}
	if c.RedisAddr != "" && c.RateLimitHour > 60*maxPerMinuteInRedis {
		return fmt.Errorf("salesapi: Config.RateLimitHour of %d per hour is finer than the Redis rate limiter keeps (Redis counts in microseconds): at most %d with Config.RedisAddr", c.RateLimitHour, 60*maxPerMinuteInRedis)
	}
	if c.IPRateLimit == 0 {
		c.IPRateLimit = 4 * c.RateLimit
	}
	if c.AuthFailuresPerMinute == 0 {
		c.AuthFailuresPerMinute = 60
	}
	if c.InstanceName == "" {
		host, _ := os.Hostname()
		dir, _ := filepath.Abs(c.DataDir)
		c.InstanceName = host + ":" + dir
	}
	if len(c.InstanceName) > 255 {
		return fmt.Errorf("salesapi: Config.InstanceName must be at most 255 bytes, got %d", len(c.InstanceName))
	}
	if c.CustomerCacheTTL == 0 {
		c.CustomerCacheTTL = 30 * time.Second
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "salesapi:"
	}
	if c.BreakerOpen == 0 {
		c.BreakerOpen = 2 * time.Second
	}
	if c.ReportCacheTTL == 0 {
		c.ReportCacheTTL = 10 * time.Second
	}
	switch {
	case c.SlowQueryThreshold == 0:
		c.SlowQueryThreshold = 250 * time.Millisecond
	case c.SlowQueryThreshold < 0:
		c.SlowQueryThreshold = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
