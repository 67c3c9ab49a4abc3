package alert

import (
	"fmt"
	"math"
	"time"
)

// Severity is the urgency of a rule, carried to notifiers and exported as
// the "severity" label of the Prometheus rule.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Rule is a named condition with a severity and a hold time.
type Rule struct {
	// Name is the alert's name: [A-Za-z_][A-Za-z0-9_]*, unique, as
	// Prometheus requires of alert names.
	Name string
	// Severity defaults to SeverityWarning.
	Severity Severity
	// For is how long the condition must hold, evaluation after evaluation,
	// before the alert fires; zero fires on the first evaluation that finds
	// it true. A flapping condition never fires.
	For time.Duration
	// Summary is a one-line human description, sent with notifications and
	// exported as the "summary" annotation.
	Summary string
	// Condition is one of [ErrorRatio], [LatencyQuantile] or [Threshold].
	Condition Condition
}

func (r *Rule) validate() error {
	if !validName(r.Name) {
		return fmt.Errorf("alert: Rule.Name must match [A-Za-z_][A-Za-z0-9_]*, got %q", r.Name)
	}
	switch r.Severity {
	case "":
		r.Severity = SeverityWarning
	case SeverityCritical, SeverityWarning, SeverityInfo:
	default:
		return fmt.Errorf("alert: Rule.Severity of %s must be critical, warning or info, got %q", r.Name, r.Severity)
	}
	if r.For < 0 {
		return fmt.Errorf("alert: Rule.For of %s must be >= 0, got %v", r.Name, r.For)
	}
	if r.Condition == nil {
		return fmt.Errorf("alert: Rule.Condition of %s must not be nil", r.Name)
	}
	c, err := r.Condition.normalize()
	if err != nil {
		return fmt.Errorf("alert: Rule.Condition of %s: %w", r.Name, err)
	}
	r.Condition = c
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
