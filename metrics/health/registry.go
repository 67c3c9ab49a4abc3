package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the package's instruments.
const ScopeName = "github.com/keel-go/keel/metrics/health"

// Config configures a [Registry]. The zero value is usable.
type Config struct {
	// ServiceID, Description, Version and ReleaseID fill the draft's
	// top-level serviceId, description, version and releaseId. Zero omits
	// them.
	ServiceID   string
	Description string
	Version     string
	ReleaseID   string
	// ShowDetails puts a failing check's error text in the response
	// ("output" in JSON, the reason in ?verbose). By default it is withheld
	// (the output says only that the check failed or timed out), since
	// errors can name hosts, paths or users and probes are often public.
	ShowDetails bool
	// ShowDetailsTo, when set, shows the details to the requests it admits
	// (an operator's credentials, an internal network) and withholds them
	// from all others, so that probes can stay public while operators see
	// why a check fails. ShowDetails true shows them to everyone whatever it
	// answers.
	ShowDetailsTo func(*http.Request) bool
	// MeterProvider creates the check metrics. Nil means the otel global.
	MeterProvider metric.MeterProvider
	// Logger receives a line per status change. Nil means no logs.
	Logger *slog.Logger
}

// Change is a check's status moving from one value to another.
type Change struct {
	Check string
	// From is the previous status; "" when this is the check's first result.
	From, To Status
	// Err is the error of the run that caused the change (nil on pass).
	Err  error
	Time time.Time
}

// Registry holds checks and serves /livez and /readyz. It is safe for
// concurrent use. Close stops background checks.
type Registry struct {
	cfg Config

	mu      sync.Mutex
	checks  []*entry
	byName  map[string]*entry
	closed  bool
	drained bool
	onEvent []func(Change)

	// notifyMu serialises listener calls so that each sees changes in order.
	notifyMu sync.Mutex

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	duration metric.Float64Histogram
	status   metric.Int64ObservableGauge
	reg      metric.Registration
	// observed is what the status callback reads; cleanup unregisters it
	// when a registry dropped without Close is collected.
	observed *observedChecks
	cleanup  runtime.Cleanup
}

// observedChecks are the registered checks as the metric callback reads
// them, in an allocation of their own so that the callback never holds the
// registry (docs/CONVENTIONS.md).
type observedChecks struct {
	mu      sync.Mutex
	entries []*entry
}

// entry is a registered check and its latest result.
type entry struct {
	check Check
	mu    sync.Mutex
	last  Result
	seen  bool // last holds a real result
}

// New creates an empty registry.
func New(cfg Config) (*Registry, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if cfg.Logger == nil {
		// Set once here, so that no path tests for nil (docs/CONVENTIONS.md).
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	meter := mp.Meter(ScopeName)
	r := &Registry{cfg: cfg, byName: map[string]*entry{}}
	var err error
	r.duration, err = meter.Float64Histogram("keel.health.check.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of one run of a health check."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	if err != nil {
		return nil, fmt.Errorf("health: keel.health.check.duration: %w", err)
	}
	r.status, err = meter.Int64ObservableGauge("keel.health.check.status",
		metric.WithUnit("{status}"),
		metric.WithDescription("Latest status of a health check: 1 for the status it is in, 0 for the others."))
	if err != nil {
		return nil, fmt.Errorf("health: keel.health.check.status: %w", err)
	}
	r.observed = &observedChecks{}
	observed, status := r.observed, r.status
	r.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		return observed.observe(o, status)
	}, r.status)
	if err != nil {
		return nil, fmt.Errorf("health: keel.health.check.status: %w", err)
	}
	r.cleanup = runtime.AddCleanup(r, func(reg metric.Registration) { _ = otelglobal.Unregister(reg) }, r.reg)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

var allStatuses = [...]Status{StatusPass, StatusWarn, StatusFail}

func (c *observedChecks) observe(o metric.Observer, status metric.Int64ObservableGauge) error {
	c.mu.Lock()
	entries := append([]*entry(nil), c.entries...)
	c.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		last, seen := e.last, e.seen
		e.mu.Unlock()
		if !seen {
			continue
		}
		for _, s := range allStatuses {
			v := int64(0)
			if last.Status == s {
				v = 1
			}
			o.ObserveInt64(status, v, metric.WithAttributes(
				attribute.String("keel.health.check", e.check.Name),
				attribute.String("keel.health.status", string(s))))
		}
	}
	return nil
}

// Register adds a check. A check with an Interval starts its background
// loop now. It fails on an invalid check, a duplicate name, or after Close.
func (r *Registry) Register(c Check) error {
	if err := c.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("health: Register(%q) after Close", c.Name)
	}
	if _, dup := r.byName[c.Name]; dup {
		return fmt.Errorf("health: a check named %q is already registered", c.Name)
	}
	e := &entry{check: c}
	if c.Interval > 0 {
		e.last = Result{Check: c.Name, Status: StatusFail, Err: errNotYetRun}
		r.wg.Add(1)
		go r.loop(e)
	}
	r.checks = append(r.checks, e)
	r.byName[c.Name] = e
	r.observed.mu.Lock()
	r.observed.entries = append(r.observed.entries, e)
	r.observed.mu.Unlock()
	return nil
}

// OnChange adds a listener called, in order and one at a time, whenever a
// check's status differs from its previous result (including its first
// result). Listeners run on the goroutine that ran the check; a slow
// listener delays that probe response, so hand long work off. A listener
// must not call Run or the handlers (it would wait for itself).
func (r *Registry) OnChange(fn func(Change)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onEvent = append(r.onEvent, fn)
}

// shutdownCheck names the result Drain adds to readiness reports, as
// Kubernetes' own API server does.
const shutdownCheck = "shutdown"

// ErrShuttingDown is the readiness error after [Registry.Drain].
var ErrShuttingDown = errors.New("health: shutting down")

// Drain makes /readyz fail from now on, with a "shutdown" entry, while
// /livez keeps passing: call it when the process receives SIGTERM, wait for
// the load balancer to notice (a few probe periods), then shut the server
// down, so that no request is sent to an instance that is going away.
func (r *Registry) Drain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drained = true
}

// Close stops the background checks and waits for them; it is idempotent.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	r.cleanup.Stop()
	return otelglobal.Unregister(r.reg)
}

func (r *Registry) loop(e *entry) {
	defer r.wg.Done()
	ticker := time.NewTicker(e.check.Interval)
	defer ticker.Stop()
	for {
		res := run(r.ctx, &e.check)
		if r.ctx.Err() != nil {
			return
		}
		r.record(r.ctx, e, res)
		select {
		case <-r.ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// record stores a result, measures it and notifies listeners of a change.
func (r *Registry) record(ctx context.Context, e *entry, res Result) {
	r.duration.Record(ctx, res.Duration.Seconds(), metric.WithAttributes(
		attribute.String("keel.health.check", res.Check),
		attribute.String("keel.health.status", string(res.Status))))

	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	e.mu.Lock()
	if e.seen && res.Time.Add(-res.Duration).Before(e.last.Time.Add(-e.last.Duration)) {
		// Two probes overlapped and the one that started first finished
		// last: its news is older than what is kept.
		e.mu.Unlock()
		return
	}
	var from Status
	if e.seen {
		from = e.last.Status
	}
	e.last, e.seen = res, true
	e.mu.Unlock()
	if from == res.Status {
		return
	}
	ch := Change{Check: res.Check, From: from, To: res.Status, Err: res.Err, Time: res.Time}
	attrs := []slog.Attr{slog.String("check", ch.Check), slog.String("from", string(ch.From)), slog.String("to", string(ch.To))}
	if ch.Err != nil {
		attrs = append(attrs, slog.String("error", ch.Err.Error()))
	}
	level := slog.LevelInfo
	if ch.To != StatusPass {
		level = slog.LevelWarn
	}
	r.cfg.Logger.LogAttrs(ctx, level, "health: check status changed", attrs...)
	r.mu.Lock()
	listeners := append([]func(Change){}, r.onEvent...)
	r.mu.Unlock()
	for _, fn := range listeners {
		fn(ch)
	}
}

// Report is the outcome of all checks of one kind.
type Report struct {
	Status  Status
	Results []Result
	// kind says which endpoint the report is for.
	kind Kind
}

// Run evaluates the checks of kind (on-demand ones now, background ones from
// their cache), skipping names in exclude, and aggregates their status: fail
// if any critical check fails, else warn if any check warns, else pass.
func (r *Registry) Run(ctx context.Context, kind Kind, exclude ...string) Report {
	return r.run(ctx, kind, func(name string) bool { return !contains(exclude, name) })
}

// has reports whether a check of kind is named name.
func (r *Registry) has(kind Kind, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byName[name]
	return ok && e.check.Kind == kind
}

func (r *Registry) run(ctx context.Context, kind Kind, include func(name string) bool) Report {
	r.mu.Lock()
	var entries []*entry
	for _, e := range r.checks {
		if e.check.Kind == kind && include(e.check.Name) {
			entries = append(entries, e)
		}
	}
	r.mu.Unlock()

	results := make([]Result, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		if e.check.Interval > 0 {
			e.mu.Lock()
			results[i] = e.last
			e.mu.Unlock()
			continue
		}
		wg.Go(func() {
			res := run(ctx, &e.check)
			results[i] = res
			// A probe whose client went away says nothing about the
			// dependency: its result is neither kept nor announced.
			if ctx.Err() == nil {
				r.record(ctx, e, res)
			}
		})
	}
	wg.Wait()

	r.mu.Lock()
	drained := r.drained
	r.mu.Unlock()
	if drained && kind == Readiness {
		results = append(results, Result{Check: shutdownCheck, Status: StatusFail, Err: ErrShuttingDown, Time: time.Now()})
	}
	rep := Report{Status: StatusPass, Results: results, kind: kind}
	for _, res := range results {
		switch {
		case res.Status == StatusFail:
			rep.Status = StatusFail
		case res.Status == StatusWarn && rep.Status == StatusPass:
			rep.Status = StatusWarn
		}
	}
	return rep
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
