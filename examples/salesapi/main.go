// Command salesapi is Keel's example sales API: customers, licences, orders
// and sales reports, composed from every Keel package.
//
//	go run ./examples/salesapi              # serve on 127.0.0.1:8080, data in ./salesapi-data
//	go run ./examples/salesapi -demo        # run the whole story in-process and print a report
//
// See README.md beside this file for the API and the promises it keeps.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/crypto/mask"
	"github.com/keel-go/keel/examples/salesapi/app"
	"github.com/keel-go/keel/examples/salesapi/demo"
	"github.com/keel-go/keel/examples/salesapi/gateway"
	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/otlp"
	"github.com/keel-go/keel/metrics/requestctx"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	addr, dataDir, dbURL, redisAddr, redisPrefix, idemStore, logLevel  string
	instanceName, auditKey, auditWitness, acceptRollback, acceptReason string
	redisDown                                                          string
	backupEvery, idemLease, breakerOpen, slowQuery                     time.Duration
	rateLimit, rateLimitHour, ipRateLimit, instances                   int
	chaos                                                              gateway.Chaos
	demo, pprof                                                        bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("salesapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.dataDir, "data", "./salesapi-data", "data directory (database, keys, audit log, backups)")
	fs.StringVar(&o.dbURL, "db", "", "PostgreSQL URL (postgres://…); default the embedded SQLite database. SALESAPI_DB_URL is read when -db is empty, so a password need not be in the process arguments")
	fs.StringVar(&o.redisAddr, "redis", "", "Redis address (host:port) for shared rate limits and, with -idempotency-store redis, idempotency records")
	fs.StringVar(&o.redisPrefix, "redis-prefix", "salesapi:", "prefix of every Redis key the service writes")
	fs.DurationVar(&o.breakerOpen, "breaker-open", 2*time.Second, "how long the payment breaker stays open before it probes the gateway again")
	fs.StringVar(&o.idemStore, "idempotency-store", "sql", "where idempotency records live: sql (in the order's transaction) or redis")
	fs.DurationVar(&o.idemLease, "idempotency-lease", 2*time.Minute, "how long a request holds its Idempotency-Key before a retry may take it over (>= 10s)")
	fs.DurationVar(&o.backupEvery, "backup-every", 0, "take a verified backup this often (0: only on POST /v1/admin/backups)")
	fs.IntVar(&o.rateLimit, "rate-limit", 6000, "requests per minute per API key (burst: a tenth, at least 10)")
	fs.IntVar(&o.rateLimitHour, "rate-limit-hour", 0, "requests per hour per API key, checked with -rate-limit (0: 10 × -rate-limit)")
	fs.StringVar(&o.redisDown, "rate-limit-redis-down", "local", "what the per-API-key limits do while Redis is down: local (each instance enforces its share, the limits / -instances), open (no limit) or closed (refuse with 503)")
	fs.IntVar(&o.instances, "instances", 0, "how many instances share the Redis limits, for -rate-limit-redis-down local (0: learned from the instances' heartbeats in Redis)")
	fs.DurationVar(&o.slowQuery, "slow-query", 250*time.Millisecond, "log every database statement at least this slow, with its request's id and route, and count it on /metrics (0: off)")
	fs.Float64Var(&o.chaos.FailureRate, "gateway-failure-rate", 0, "fraction of payment gateway calls that fail, in [0,1]")
	fs.DurationVar(&o.chaos.Latency, "gateway-latency", 0, "latency added to every payment gateway call")
	fs.BoolVar(&o.chaos.Down, "gateway-down", false, "start with the payment gateway down")
	fs.IntVar(&o.ipRateLimit, "ip-rate-limit", 0, "requests per minute per client IP, before authentication (0: 4 × -rate-limit)")
	fs.StringVar(&o.instanceName, "instance-name", "", "this instance's name in the audit witness table (default <hostname>:<absolute -data>); one per instance, stable across restarts")
	fs.StringVar(&o.auditKey, "audit-signing-key", "", "PEM Ed25519 key (mode 0600) that signs audit checkpoints, kept outside -data (default: created in -data, for development)")
	fs.StringVar(&o.auditWitness, "audit-witness", "", "file that witnesses the audit log, on another volume than -data (default: a row of the service's database)")
	fs.StringVar(&o.acceptRollback, "audit-accept-rollback", "", "LOG:SEQ:HASH — accept the audit log being behind its witness at exactly this head (as the start-up log names it); needs -audit-accept-reason")
	fs.StringVar(&o.acceptReason, "audit-accept-reason", "", "who accepts the audit rollback and why (recorded in the audit log)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.pprof, "pprof", false, "serve Go's profiler under /v1/admin/pprof/ (admin API key only; off by default)")
	fs.BoolVar(&o.demo, "demo", false, "run the demonstration in-process against a temporary data directory and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.dbURL == "" {
		o.dbURL = os.Getenv("SALESAPI_DB_URL")
	}
	if o.idemStore != "sql" && o.idemStore != "redis" {
		return o, fmt.Errorf("-idempotency-store must be sql or redis, got %q", o.idemStore)
	}
	if o.idemStore == "redis" && o.redisAddr == "" {
		return o, errors.New("-idempotency-store redis needs -redis")
	}
	for _, n := range []struct {
		flag  string
		value int
	}{{"-rate-limit", o.rateLimit}, {"-rate-limit-hour", o.rateLimitHour}, {"-ip-rate-limit", o.ipRateLimit}, {"-instances", o.instances}} {
		if n.value < 0 {
			return o, fmt.Errorf("%s must be >= 0, got %d", n.flag, n.value)
		}
	}
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"-slow-query", o.slowQuery}, {"-breaker-open", o.breakerOpen}, {"-backup-every", o.backupEvery}, {"-gateway-latency", o.chaos.Latency}} {
		if d.value < 0 {
			return o, fmt.Errorf("%s must be >= 0, got %s", d.flag, d.value)
		}
	}
	if o.idemLease < 10*time.Second {
		return o, fmt.Errorf("-idempotency-lease must be at least 10s (an order can take 5s), got %s", o.idemLease)
	}
	switch o.redisDown {
	case "local", "open", "closed":
	default:
		return o, fmt.Errorf("-rate-limit-redis-down must be local, open or closed, got %q", o.redisDown)
	}
	if o.chaos.FailureRate < 0 || o.chaos.FailureRate > 1 {
		return o, fmt.Errorf("-gateway-failure-rate must be in [0,1], got %g", o.chaos.FailureRate)
	}
	if o.chaos.Latency > time.Minute {
		return o, fmt.Errorf("-gateway-latency must be at most 1m, got %s", o.chaos.Latency)
	}
	if (o.acceptRollback == "") != (o.acceptReason == "") {
		return o, errors.New("-audit-accept-rollback and -audit-accept-reason go together")
	}
	return o, o.chaos.Validate()
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "salesapi:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.demo {
		return demo.Run(ctx, stdout)
	}
	if err := serve(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "salesapi:", oneLine(inFlagTerms(err)))
		return 1
	}
	return 0
}

var lineBreaks = regexp.MustCompile(`\s*\n\s*`)

// oneLine folds an error that spans lines (pgx lists each address it tried
// on its own line) into the one line an operator's log search will match.
func oneLine(err error) string {
	return lineBreaks.ReplaceAllString(strings.TrimSpace(err.Error()), "; ")
}

// newLogger writes JSON logs to w with every PII attribute masked.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	// Every line logged with a request's context carries its request_id,
	// trace_id and span_id.
	return slog.New(requestctx.NewLogHandler(mask.Default().Handler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})))), nil
}

func serve(ctx context.Context, o options, stdout, stderr io.Writer) error {
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	// The data directory first: the dashboard forecasts its file system's
	// fill, and every later step keeps its files there.
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("-data: %w", err)
	}
	keys, err := apiKeys(o.dataDir, stdout)
	if err != nil {
		return err
	}
	// OTLP when the standard OTEL_EXPORTER_OTLP_* variables ask for it.
	push, err := otlp.New(otlp.Config{})
	if err != nil {
		return err
	}
	dash, err := app.NewDashboard(o.dataDir) // its reader joins the MeterProvider below
	if err != nil {
		return err
	}
	defer dash.Close()
	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi", ServiceVersion: "example", Logger: logger,
		Exporters: []metrics.Exporter{push}, Readers: []sdkmetric.Reader{dash.Reader()}})
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))

	// The simulated gateway keeps its charges beside the service's data, so
	// that a restart (or a crash) forgets no charge: a retried order is
	// answered with the charge it already made, as a real gateway would.
	gw, err := gateway.Open(gateway.Config{Addr: "127.0.0.1:0", Chaos: o.chaos, File: filepath.Join(o.dataDir, "gateway.db")})
	if err != nil {
		return err
	}
	defer gw.Close()

	accept, err := parseAcceptRollback(o.acceptRollback, o.acceptReason)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, app.Config{
		DataDir: o.dataDir, DatabaseURL: o.dbURL, RedisAddr: o.redisAddr, IdempotencyInRedis: o.idemStore == "redis", IdempotencyLease: o.idemLease,
		RedisPrefix: o.redisPrefix, BreakerOpen: o.breakerOpen,
		APIKeys: keys, GatewayURL: gw.URL(), RateLimit: o.rateLimit, RateLimitHour: o.rateLimitHour, RateLimitRedisDown: o.redisDown,
		Instances: o.instances, IPRateLimit: o.ipRateLimit, BackupEvery: o.backupEvery, SlowQueryThreshold: slowQueryThreshold(o.slowQuery),
		InstanceName: o.instanceName, AuditSigningKeyFile: o.auditKey, AuditWitnessFile: o.auditWitness, AuditAcceptRollback: accept,
		Logger: logger, MetricsHandler: tel.Handler(), Profiling: o.pprof, Dashboard: dash,
	}, gatewayControl{gw})
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "salesapi: listening on http://%s (data in %s, payment gateway at %s)\n", ln.Addr(), o.dataDir, gw.URL())
	fmt.Fprintf(stdout, "salesapi: dashboard at http://%s%s (admin API key as a Bearer token)\n", ln.Addr(), app.DashboardPath)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	logger.Info("shutting down")
	return srv.Shutdown(shutdownCtx)
}

// slowQueryThreshold maps -slow-query (0: off) to the app's threshold
// (negative: off).
func slowQueryThreshold(flag time.Duration) time.Duration {
	if flag == 0 {
		return -1
	}
	return flag
}

// gatewayControl backs the admin endpoints with the simulated gateway.
type gatewayControl struct{ gw *gateway.Gateway }

func (g gatewayControl) SetChaos(body []byte) error {
	var in struct {
		FailureRate *float64 `json:"failure_rate"`
		LatencyMS   *int64   `json:"latency_ms"`
		Down        *bool    `json:"down"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("chaos: want {failure_rate, latency_ms, down}: %w", err)
	}
	c := g.gw.Chaos()
	if in.FailureRate != nil {
		c.FailureRate = *in.FailureRate
	}
	if in.LatencyMS != nil {
		c.Latency = time.Duration(*in.LatencyMS) * time.Millisecond
	}
	if in.Down != nil {
		c.Down = *in.Down
	}
	return g.gw.SetChaos(c)
}

func (g gatewayControl) Stats() map[string]any {
	charges, calls := g.gw.Stats()
	c := g.gw.Chaos()
	return map[string]any{"charges": charges, "calls": calls, "failure_rate": c.FailureRate,
		"latency_ms": c.Latency.Milliseconds(), "down": c.Down}
}

// apiKeys reads SALESAPI_API_KEYS ("key1=admin,key2=sales"), or else uses the
// development keys kept in the data directory (created on first start, 0600),
// and prints those so a developer can call the API at once.
func apiKeys(dataDir string, stdout io.Writer) ([]app.APIKey, error) {
	if spec := os.Getenv("SALESAPI_API_KEYS"); spec != "" {
		return app.ParseAPIKeys(spec)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, "dev-api-keys")
	spec, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		spec = []byte(devKey() + "=admin," + devKey() + "=sales")
		err = os.WriteFile(path, spec, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("development API keys: %w", err)
	}
	keys, err := app.ParseAPIKeys(strings.TrimSpace(string(spec)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintln(stdout, "salesapi: development API keys (set SALESAPI_API_KEYS to use your own):")
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %-5s Authorization: Bearer %s\n", k.Role, k.Token)
	}
	return keys, nil
}

func devKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "dev_" + hex.EncodeToString(b)
}

// parseAcceptRollback reads -audit-accept-rollback LOG:SEQ:HASH.
func parseAcceptRollback(spec, reason string) (*audit.AcceptRollback, error) {
	if spec == "" {
		return nil, nil
	}
	parts := strings.Split(spec, ":")
	var seq uint64
	var err error
	if len(parts) == 3 {
		seq, err = strconv.ParseUint(parts[1], 10, 64)
	}
	if len(parts) != 3 || err != nil || len(parts[0]) != 32 || seq == 0 || len(parts[2]) != 64 {
		return nil, fmt.Errorf("-audit-accept-rollback must be LOG:SEQ:HASH, the witnessed log id (32 hex digits), seq and hash (64 hex digits) as the start-up log names them, got %q", spec)
	}
	return &audit.AcceptRollback{LogID: parts[0], WitnessedSeq: seq, WitnessedHash: parts[2], Reason: reason}, nil
}
