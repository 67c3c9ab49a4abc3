package alert

import (
	"context"
	"log/slog"
	"time"
)

// State is where an alert is in its life.
type State string

const (
	// StatePending: the condition holds but not yet for Rule.For. Pending
	// alerts are listed by Evaluator.Alerts but never notified.
	StatePending State = "pending"
	// StateFiring: the condition has held for Rule.For.
	StateFiring State = "firing"
	// StateResolved: a firing alert whose condition no longer holds.
	StateResolved State = "resolved"
)

// Alert is a rule's alert as notifiers receive it.
type Alert struct {
	Rule     string
	Severity Severity
	State    State
	Summary  string
	// Value is the condition's value at the evaluation that produced this
	// notification (the error ratio, the quantile, the gauge); NaN when
	// there was no data (a resolution because the series disappeared).
	Value float64
	// Threshold is the rule's threshold, in the same unit as Value.
	Threshold float64
	// ActiveSince is when the condition started to hold.
	ActiveSince time.Time
	// FiredAt is when the alert fired (zero while pending).
	FiredAt time.Time
	// ResolvedAt is when it resolved (zero unless State is resolved).
	ResolvedAt time.Time
}

// Notifier delivers alerts. Notify is called from the evaluator's goroutine,
// one notification at a time, with a context cancelled by Evaluator.Close;
// it should return within its own timeout. An error is logged and counted;
// the evaluator does not retry (a notifier that wants retries does them, as
// the webhook does), but Config.RepeatInterval re-sends firing alerts.
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
}

// SlogNotifier logs alerts: firing critical at Error, firing warning at
// Warn, everything else at Info.
type SlogNotifier struct {
	Logger *slog.Logger
}

// Notify logs a. It never fails.
func (n SlogNotifier) Notify(ctx context.Context, a Alert) error {
	if n.Logger == nil {
		return nil
	}
	level := slog.LevelInfo
	if a.State == StateFiring {
		switch a.Severity {
		case SeverityCritical:
			level = slog.LevelError
		case SeverityWarning:
			level = slog.LevelWarn
		}
	}
	attrs := []slog.Attr{
		slog.String("rule", a.Rule), slog.String("severity", string(a.Severity)),
		slog.String("state", string(a.State)), slog.Float64("value", a.Value),
		slog.Float64("threshold", a.Threshold), slog.Time("active_since", a.ActiveSince),
	}
	if a.Summary != "" {
		attrs = append(attrs, slog.String("summary", a.Summary))
	}
	n.Logger.LogAttrs(ctx, level, "alert: "+a.Rule+" "+string(a.State), attrs...)
	return nil
}
