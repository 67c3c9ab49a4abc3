// Package app is the sales API: customers, licences, orders and sales
// reports over HTTP, composed from every Keel package. It is where the
// primitives meet, as they would in a user's service:
//
//   - crypto/field encrypts customer email and phone at rest and finds
//     customers by email through a blind index; crypto/mask shows them masked
//     to the sales role and keeps them out of the logs;
//   - idempotency makes POST /v1/orders safe to retry, completing the record
//     in the order's own transaction;
//   - one resilience pipeline (retry, breaker, per-attempt timeout) guards
//     the payment gateway, behind a resilience.Transport that sends a derived
//     idempotency key on every attempt, so the gateway never charges twice;
//   - cache keeps customer reads and sales reports off the database;
//   - ratelimit caps each API key, in one process or across many (Redis);
//   - audit records every mutation and every denied request, tamper-evident;
//   - backup takes encrypted, signed, verified backups on demand or on a
//     schedule;
//   - metrics, metrics/health expose /metrics, /livez and /readyz.
package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/cache"
	"github.com/keel-go/keel/cache/rediscache"
	"github.com/keel-go/keel/crypto/field"
	"github.com/keel-go/keel/crypto/mask"
	"github.com/keel-go/keel/examples/salesapi/store"
	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/redisstore"
	"github.com/keel-go/keel/idempotency/sqlstore"
	"github.com/keel-go/keel/metrics/health"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/redislimit"
)

// App is the running sales API. Handler serves it; Close releases it.
type App struct {
	cfg      Config
	store    *store.Store
	keys     *keys
	emailIdx *field.BlindIndex
	auth     *authenticator
	masking  *mask.Policy // who sees customer PII in clear

	customers customerCache
	forget    func(ctx context.Context, id string) // drops a customer from every cache tier
	reports   reportCache

	limiter      ratelimit.Taker
	ipLimiter    *ratelimit.Keyed  // every request, per client IP, before authentication
	authFailures *ratelimit.Keyed  // failed authentications per client IP
	clientKey    ratelimit.KeyFunc // how both key a client
	idem         *idempotency.Manager
	idemSQL      *sqlstore.Store // nil when records live in Redis
	redis        *redis.Client

	payBreaker *breaker.Breaker
	payClient  *http.Client // its transport runs the payment pipeline (payments.go)

	audit        *audit.Logger // nil while the log is behind its witness
	auditBlocked error         // why audit is nil: the *audit.RollbackError New refused with
	auditWitness audit.Witness
	auditDir     string
	backups      *backup.Repository
	scheduler    *backup.Scheduler
	lastBackup   struct {
		sync.Mutex
		at time.Time
	}
	health *health.Registry

	// gateway controls the simulated payment gateway (admin endpoints).
	gateway GatewayControl

	handler http.Handler
	closers []func() error
}

// GatewayControl is the control surface of a simulated payment gateway,
// behind POST /v1/admin/chaos and GET /v1/admin/gateway.
type GatewayControl interface {
	// SetChaos applies a JSON body {failure_rate, latency_ms, down}.
	SetChaos(body []byte) error
	// Stats reports what the gateway did (charges made, calls received).
	Stats() map[string]any
}

// New opens the database, loads or creates the keys and builds every
// component. gw, if not nil, backs the gateway admin endpoints.
func New(ctx context.Context, cfg Config, gw GatewayControl) (a *App, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Absolute, so that backup.json works from any working directory.
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("salesapi: data directory: %w", err)
	}
	if err := secureDataDir(cfg.DataDir, cfg.Logger); err != nil {
		return nil, err
	}
	a = &App{cfg: cfg, gateway: gw}
	built := a // "return nil, err" clears a before the deferred cleanup runs
	defer func() {
		if err != nil {
			_ = built.Close()
		}
	}()
	if a.keys, err = loadOrCreateKeys(cfg.DataDir, cfg.AuditSigningKeyFile); err != nil {
		return nil, err
	}
	if a.auth, err = newAuthenticator(cfg.APIKeys, a.keys.indexKey); err != nil {
		return nil, err
	}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if a.emailIdx, err = newEmailIndex(a.keys.indexKey); err != nil {
		return nil, err
	}
	if err := a.reindexEmails(ctx); err != nil {
		return nil, err
	}
	if a.masking, err = newMaskingPolicy(cfg.Logger); err != nil {
		return nil, err
	}
	if cfg.RedisAddr != "" {
		a.redis = redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
		a.closers = append(a.closers, a.redis.Close)
	}
	steps := []func(context.Context) error{a.buildCaches, a.buildLimiter, a.buildIdempotency, a.buildPayments, a.buildAudit, a.buildBackups, a.buildHealth}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	if a.handler, err = a.routes(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *App) openStore(ctx context.Context) error {
	dsn := a.cfg.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(a.cfg.DataDir, SQLiteFile)
		if err := prepareSQLiteFile(dsn); err != nil {
			return err
		}
	}
	s, err := store.Open(ctx, dsn, store.Telemetry{SlowQueryThreshold: a.cfg.SlowQueryThreshold, Logger: a.cfg.Logger})
	if err != nil {
		return err
	}
	a.store = s
	a.closers = append(a.closers, s.Close)
	return s.Migrate(ctx)
}

// customerCache holds sealed customer rows (email and phone still
// encrypted), so that neither tier — nor Redis — ever holds PII in clear.
// Reads decrypt; that costs about a microsecond.
type customerCache interface {
	GetOrLoad(ctx context.Context, key string, loader func(ctx context.Context, key string) (store.Customer, error)) (store.Customer, error)
	Close() error
}

// reportCache holds sales reports by period.
type reportCache interface {
	GetOrLoad(ctx context.Context, key string, loader func(ctx context.Context, key string) ([]store.SalesRow, error)) ([]store.SalesRow, error)
}

// localCustomers adapts the in-process cache to customerCache.
type localCustomers struct {
	*cache.Cache[string, store.Customer]
}

func (a *App) buildCaches(context.Context) error {
	local := cache.Config[string, store.Customer]{
		Name: "customers", Capacity: 10_000, TTL: a.cfg.CustomerCacheTTL, TTLJitter: 0.1,
		NotFound: store.ErrNotFound, NegativeTTL: time.Second, LoadTimeout: 5 * time.Second,
	}
	if a.redis != nil {
		// Two tiers: a write on any instance invalidates every instance's
		// local copy through Redis pub/sub.
		rc, err := rediscache.New(rediscache.Config[store.Customer]{
			Client: a.redis, Prefix: a.cfg.RedisPrefix + "customers:", TTL: 10 * a.cfg.CustomerCacheTTL,
			Local: local, Logger: a.cfg.Logger,
		})
		if err != nil {
			return err
		}
		a.customers, a.forget = rc, func(ctx context.Context, id string) { rc.Delete(ctx, id) }
	} else {
		c, err := cache.New(local)
		if err != nil {
			return err
		}
		a.customers, a.forget = localCustomers{c}, func(_ context.Context, id string) { c.Delete(id) }
	}
	a.closers = append(a.closers, a.customers.Close)
	reports, err := cache.New(cache.Config[string, []store.SalesRow]{
		Name: "sales_reports", Capacity: 1_000, TTL: a.cfg.ReportCacheTTL, RefreshAhead: 0.6,
		StaleIfError: time.Minute, LoadTimeout: 10 * time.Second,
	})
	if err != nil {
		return err
	}
	a.reports = reports
	a.closers = append(a.closers, reports.Close)
	return nil
}

// buildLimiter holds each API key to two limits at once, per minute and per
// hour, checked and taken together: in process, or across instances in
// Redis (one round trip for both), degrading while Redis is down as
// RateLimitRedisDown says.
func (a *App) buildLimiter(context.Context) error {
	if err := a.buildClientLimits(); err != nil {
		return err
	}
	windows := []ratelimit.Window{
		{Name: "api_key", Limit: a.cfg.RateLimit, Period: time.Minute, Burst: a.cfg.RateBurst},
		{Name: "api_key_hour", Limit: a.cfg.RateLimitHour, Period: time.Hour},
	}
	if a.redis != nil {
		// A client of its own with short timeouts: a limiter that waits
		// seconds for its store defeats its purpose, and a degraded
		// limiter's probe of Redis blocks one call for the dial time.
		client := redis.NewClient(&redis.Options{Addr: a.cfg.RedisAddr, MaxRetries: -1, DialerRetries: 1,
			DialTimeout: 100 * time.Millisecond, ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond})
		a.closers = append(a.closers, client.Close)
		l, err := redislimit.New(redislimit.Config{
			Client: client, Name: "api_key", Windows: windows, Prefix: a.cfg.RedisPrefix + "ratelimit:",
			FailMode: redisDownModes[a.cfg.RateLimitRedisDown], Instances: a.cfg.Instances, Logger: a.cfg.Logger,
		})
		if err != nil {
			return fmt.Errorf("salesapi: the Redis rate limiter refuses %d requests per minute and %d per hour per API key: %w", a.cfg.RateLimit, a.cfg.RateLimitHour, err)
		}
		a.limiter = l
		a.closers = append(a.closers, l.Close)
		return nil
	}
	l, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api_key", Windows: windows, MaxKeys: 100_000})
	if err != nil {
		return fmt.Errorf("salesapi: the rate limiter refuses %d requests per minute and %d per hour per API key: %w", a.cfg.RateLimit, a.cfg.RateLimitHour, err)
	}
	a.limiter = l
	a.closers = append(a.closers, l.Close)
	return nil
}

func (a *App) buildIdempotency(ctx context.Context) error {
	var st idempotency.Store
	if a.cfg.IdempotencyInRedis {
		rs, err := redisstore.New(redisstore.Config{Client: a.redis, Prefix: a.cfg.RedisPrefix + "idem:"})
		if err != nil {
			return err
		}
		st = rs
	} else {
		dialect := sqlstore.SQLite
		if a.store.Dialect == store.Postgres {
			dialect = sqlstore.Postgres
		}
		ss, err := sqlstore.New(sqlstore.Config{DB: a.store.DB, Dialect: dialect})
		if err != nil {
			return err
		}
		if err := ss.Migrate(ctx); err != nil {
			return err
		}
		a.idemSQL, st = ss, ss
	}
	var err error
	a.idem, err = idempotency.New(idempotency.Config{Store: st, Lease: a.cfg.IdempotencyLease, Logger: a.cfg.Logger})
	return err
}

func (a *App) buildHealth(context.Context) error {
	var err error
	a.health, err = health.New(health.Config{ServiceID: "salesapi", Description: "Keel example sales API"})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, a.health.Close)
	checks := []health.Check{
		{Name: "database", ComponentType: "datastore", Func: health.SQLPing(a.store.DB), Timeout: 2 * time.Second},
		{Name: "disk", ComponentType: "system", NonCritical: true, Func: health.DiskSpace(a.cfg.DataDir, 64<<20, 1<<30)},
	}
	if a.redis != nil {
		// Not critical for readiness: while Redis is down every instance
		// still answers: the cache serves its local tier, the rate limiter
		// enforces each instance's share locally (-rate-limit-redis-down
		// local; open admits, closed refuses), so a failing /readyz would make
		// the load balancer drop every instance at once. Critical only when
		// it holds the idempotency records, without which no keyed
		// mutation can be answered safely.
		checks = append(checks, health.Check{Name: "redis", ComponentType: "datastore", Timeout: 2 * time.Second,
			NonCritical: !a.cfg.IdempotencyInRedis,
			Func:        health.Ping(health.PingFunc(func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }))})
	}
	checks = append(checks, health.Check{Name: "audit", ComponentType: "component", Func: a.auditHealth})
	if a.cfg.BackupEvery > 0 {
		checks = append(checks, health.Check{Name: "backup", ComponentType: "component", NonCritical: true,
			Func: health.LastSuccessWithin(a.lastBackupAt, 2*a.cfg.BackupEvery+time.Hour)})
	}
	for _, c := range checks {
		if err := a.health.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the API.
func (a *App) Handler() http.Handler { return a.handler }

// Close stops background work and releases every resource, newest first.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
