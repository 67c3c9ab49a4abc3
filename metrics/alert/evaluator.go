package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// ScopeName is the instrumentation scope of the package's instruments.
const ScopeName = "github.com/keel-go/keel/metrics/alert"

// DefaultInterval is how often rules are evaluated when Config.Interval is
// zero.
const DefaultInterval = 15 * time.Second

// Source is where the evaluator reads metrics: an
// sdkmetric.NewManualReader() registered with the MeterProvider (for
// instance through metrics.Config.Readers). It must use cumulative
// temporality, the ManualReader default, and should be read by nothing
// else.
type Source interface {
	Collect(ctx context.Context, rm *metricdata.ResourceMetrics) error
}

// Config configures [New].
type Config struct {
	// Source is required.
	Source Source
	// Rules are required; names must be unique.
	Rules []Rule
	// Notifiers receive firing and resolved alerts, in order. Zero means
	// none: the state is still available from Evaluator.Alerts and metrics.
	Notifiers []Notifier
	// Interval between evaluations. Zero means DefaultInterval.
	Interval time.Duration
	// RepeatInterval re-sends a still-firing alert this often, so that a
	// notification lost to an outage of the receiver is not lost for good.
	// Zero means never.
	RepeatInterval time.Duration
	// MeterProvider creates the evaluator's metrics. Nil means the otel
	// global.
	MeterProvider metric.MeterProvider
	// Logger receives collection and notification failures. Nil means no
	// logs.
	Logger *slog.Logger
}

// Evaluator evaluates rules on a schedule and notifies changes. It is safe
// for concurrent use; Close stops it.
type Evaluator struct {
	cfg   Config
	rules []*ruleState

	mu sync.Mutex // guards the rules' alert state for Alerts and metrics

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	notifications metric.Int64Counter
	evaluations   metric.Int64Counter
	reg           metric.Registration
	firingGauge   metric.Int64ObservableGauge
}

// ruleState is one rule and its alert.
type ruleState struct {
	rule     Rule
	cond     conditionState
	alert    Alert // State "" when inactive
	notified time.Time
}

// New validates cfg and starts evaluating: once at once, then every
// Interval.
func New(cfg Config) (*Evaluator, error) {
	if cfg.Source == nil {
		return nil, errors.New("alert: Config.Source must not be nil")
	}
	if len(cfg.Rules) == 0 {
		return nil, errors.New("alert: Config.Rules must not be empty")
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("alert: Config.Interval must be >= 0, got %v", cfg.Interval)
	}
	if cfg.RepeatInterval < 0 {
		return nil, fmt.Errorf("alert: Config.RepeatInterval must be >= 0, got %v", cfg.RepeatInterval)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		// Set once here, so that no failure path tests for nil
		// (docs/CONVENTIONS.md).
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for i, n := range cfg.Notifiers {
		if n == nil {
			return nil, fmt.Errorf("alert: Config.Notifiers[%d] must not be nil", i)
		}
	}
	e := &Evaluator{cfg: cfg, done: make(chan struct{})}
	seen := map[string]bool{}
	for _, r := range cfg.Rules {
		if err := r.validate(); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("alert: two rules are named %s", r.Name)
		}
		seen[r.Name] = true
		e.rules = append(e.rules, &ruleState{rule: r, cond: r.Condition.newState()})
	}
	if err := e.instruments(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go e.loop(ctx)
	return e, nil
}

func (e *Evaluator) instruments() error {
	mp := e.cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	var err error
	if e.notifications, err = meter.Int64Counter("keel.alert.notifications",
		metric.WithUnit("{notification}"),
		metric.WithDescription("Notifications sent to notifiers, by rule, state and outcome.")); err != nil {
		return fmt.Errorf("alert: keel.alert.notifications: %w", err)
	}
	if e.evaluations, err = meter.Int64Counter("keel.alert.evaluations",
		metric.WithUnit("{evaluation}"),
		metric.WithDescription("Evaluation rounds, by outcome (a failed collection is a failure).")); err != nil {
		return fmt.Errorf("alert: keel.alert.evaluations: %w", err)
	}
	if e.firingGauge, err = meter.Int64ObservableGauge("keel.alert.firing",
		metric.WithUnit("{alert}"),
		metric.WithDescription("1 while the rule's alert is firing, else 0.")); err != nil {
		return fmt.Errorf("alert: keel.alert.firing: %w", err)
	}
	e.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, rs := range e.rules {
			v := int64(0)
			if rs.alert.State == StateFiring {
				v = 1
			}
			o.ObserveInt64(e.firingGauge, v, metric.WithAttributes(
				attribute.String("keel.alert.rule", rs.rule.Name),
				attribute.String("keel.alert.severity", string(rs.rule.Severity))))
		}
		return nil
	}, e.firingGauge)
	if err != nil {
		return fmt.Errorf("alert: keel.alert.firing: %w", err)
	}
	return nil
}

// Close stops the evaluator, cancelling a notification in flight, and
// waits for it. It is idempotent.
func (e *Evaluator) Close() error {
	var err error
	e.once.Do(func() {
		e.cancel()
		<-e.done
		err = otelglobal.Unregister(e.reg)
	})
	return err
}

// Alerts returns the pending and firing alerts, in rule order.
func (e *Evaluator) Alerts() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alert
	for _, rs := range e.rules {
		if rs.alert.State != "" {
			out = append(out, rs.alert)
		}
	}
	return out
}

func (e *Evaluator) loop(ctx context.Context) {
	defer close(e.done)
	ticker := time.NewTicker(e.cfg.Interval)
	defer ticker.Stop()
	for {
		e.evaluate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// evaluate runs one round: collect, update every rule, then notify.
func (e *Evaluator) evaluate(ctx context.Context) {
	var rm metricdata.ResourceMetrics
	if err := e.cfg.Source.Collect(ctx, &rm); err != nil {
		if ctx.Err() != nil {
			return
		}
		e.evaluations.Add(ctx, 1, metric.WithAttributes(attribute.String("keel.alert.outcome", "failure")))
		e.cfg.Logger.LogAttrs(ctx, slog.LevelError, "alert: collecting metrics failed", slog.String("error", err.Error()))
		return
	}
	e.evaluations.Add(ctx, 1, metric.WithAttributes(attribute.String("keel.alert.outcome", "success")))
	now := time.Now()
	var outbox []Alert
	e.mu.Lock()
	for _, rs := range e.rules {
		if a, ok := rs.step(&rm, now, e.cfg.RepeatInterval); ok {
			outbox = append(outbox, a)
		}
	}
	e.mu.Unlock()
	for _, a := range outbox {
		e.notify(ctx, a)
	}
}

// step advances the rule's state machine (inactive → pending → firing →
// resolved → inactive) and returns the alert to notify, if any.
func (rs *ruleState) step(rm *metricdata.ResourceMetrics, now time.Time, repeat time.Duration) (Alert, bool) {
	value, holds, _ := rs.cond.observe(rm, now)
	a := &rs.alert
	if !holds {
		if a.State == StateFiring {
			resolved := *a
			resolved.State, resolved.Value, resolved.ResolvedAt = StateResolved, value, now
			*a = Alert{}
			return resolved, true
		}
		*a = Alert{}
		return Alert{}, false
	}
	a.Value = value
	switch a.State {
	case "":
		*a = Alert{Rule: rs.rule.Name, Severity: rs.rule.Severity, Summary: rs.rule.Summary, State: StatePending,
			Value: value, Threshold: rs.rule.Condition.threshold(), ActiveSince: now}
		fallthrough
	case StatePending:
		if now.Sub(a.ActiveSince) >= rs.rule.For {
			a.State, a.FiredAt = StateFiring, now
			rs.notified = now
			return *a, true
		}
	case StateFiring:
		if repeat > 0 && now.Sub(rs.notified) >= repeat {
			rs.notified = now
			return *a, true
		}
	}
	return Alert{}, false
}

func (e *Evaluator) notify(ctx context.Context, a Alert) {
	for _, n := range e.cfg.Notifiers {
		err := n.Notify(ctx, a)
		outcome := "success"
		if err != nil {
			outcome = "failure"
			if ctx.Err() == nil {
				e.cfg.Logger.LogAttrs(ctx, slog.LevelError, "alert: notification failed",
					slog.String("rule", a.Rule), slog.String("state", string(a.State)), slog.String("error", err.Error()))
			}
		}
		e.notifications.Add(ctx, 1, metric.WithAttributes(
			attribute.String("keel.alert.rule", a.Rule),
			attribute.String("keel.alert.state", string(a.State)),
			attribute.String("keel.alert.outcome", outcome)))
	}
}
