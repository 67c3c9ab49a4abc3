package breaker

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Config configures a Breaker. The zero value of every field is a documented
// default. The trip conditions (ConsecutiveFailures, FailureRate,
// SlowCallRate) are each optional and any one of them opens the breaker; when
// none is set, ConsecutiveFailures is 5.
type Config struct {
	// Name identifies the breaker in errors, metrics (keel.breaker.name) and
	// logs. Keep it low-cardinality: a dependency, not a URL. Default "default".
	Name string

	// ConsecutiveFailures opens the breaker after this many failures in a row
	// in the closed state. 0: off (unless no condition is set: then 5).
	ConsecutiveFailures int

	// FailureRate opens the breaker when the share of failures among the calls
	// in the window reaches it, once the window holds MinimumCalls calls.
	// In (0,1]; 0: off.
	FailureRate float64

	// SlowCallRate opens the breaker when the share of calls slower than
	// SlowCallDuration reaches it (same window and minimum). In (0,1]; 0: off.
	SlowCallRate float64
	// SlowCallDuration is the threshold above which a call is slow. Required
	// when SlowCallRate is set.
	SlowCallDuration time.Duration

	// WindowSize is the number of most recent calls the rates are computed
	// over (a count-based window). Default 100. Ignored when WindowDuration is set.
	WindowSize int
	// WindowDuration, when positive, makes the window time-based: the rates are
	// computed over the calls that ended in the last WindowDuration (kept in 10
	// buckets, so the window slides in steps of WindowDuration/10).
	WindowDuration time.Duration
	// MinimumCalls is how many calls the window must hold before a rate can
	// open the breaker. Default 10 (or WindowSize, when that is smaller).
	MinimumCalls int

	// OpenDuration is how long the breaker stays open before letting probes
	// through. Default 60s.
	OpenDuration time.Duration
	// BreakDuration, when set, replaces OpenDuration: it receives how many times
	// the breaker has opened since it was last closed (1 for the first) and
	// returns the wait, so that the wait can grow while the dependency stays
	// down. A non-positive result lets a probe through on the next call.
	BreakDuration func(openCount int) time.Duration

	// HalfOpenProbes is how many probe calls may run at once in the half-open
	// state. Default 1.
	HalfOpenProbes int
	// HalfOpenSuccesses is how many successful probes close the breaker.
	// Default HalfOpenProbes. Any failed probe opens it again.
	HalfOpenSuccesses int

	// Classifier maps a call's error to Success, Failure or Ignored. Default
	// DefaultClassifier (a cancelled context is ignored).
	Classifier Classifier

	// OnStateChange listeners are called, in order, for every state change, in
	// the order the changes happened, outside any lock: they may call the
	// breaker (even change its state) without deadlocking.
	OnStateChange []func(StateChange)

	// MeterProvider for the keel.breaker.* instruments; nil means otel's global
	// (a no-op until the application installs one). A noop.MeterProvider
	// switches measurement off entirely, without even a call per measurement.
	MeterProvider metric.MeterProvider

	// Logger receives a record per state change (warning when opening); nil
	// means no logs.
	Logger *slog.Logger
}

// withDefaults validates cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	rate := func(field string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("breaker: Config.%s must be in (0,1], got %v", field, v)
		}
		return nil
	}
	nonNegative := func(field string, v int64) error {
		if v < 0 {
			return fmt.Errorf("breaker: Config.%s must be >= 0, got %d", field, v)
		}
		return nil
	}
	for _, err := range []error{
		nonNegative("ConsecutiveFailures", int64(cfg.ConsecutiveFailures)),
		rate("FailureRate", cfg.FailureRate),
		rate("SlowCallRate", cfg.SlowCallRate),
		nonNegative("SlowCallDuration", int64(cfg.SlowCallDuration)),
		nonNegative("WindowSize", int64(cfg.WindowSize)),
		nonNegative("WindowDuration", int64(cfg.WindowDuration)),
		nonNegative("MinimumCalls", int64(cfg.MinimumCalls)),
		nonNegative("OpenDuration", int64(cfg.OpenDuration)),
		nonNegative("HalfOpenProbes", int64(cfg.HalfOpenProbes)),
		nonNegative("HalfOpenSuccesses", int64(cfg.HalfOpenSuccesses)),
	} {
		if err != nil {
			return cfg, err
		}
	}
	if cfg.ConsecutiveFailures > maxConsecutive {
		return cfg, fmt.Errorf("breaker: Config.ConsecutiveFailures must be <= %d, got %d", maxConsecutive, cfg.ConsecutiveFailures)
	}
	if cfg.SlowCallRate > 0 && cfg.SlowCallDuration == 0 {
		return cfg, fmt.Errorf("breaker: Config.SlowCallDuration must be > 0 when SlowCallRate is set")
	}
	if cfg.WindowDuration > 0 && cfg.WindowDuration < 10*time.Millisecond {
		return cfg, fmt.Errorf("breaker: Config.WindowDuration must be >= 10ms, got %v", cfg.WindowDuration)
	}
	if cfg.ConsecutiveFailures == 0 && cfg.FailureRate == 0 && cfg.SlowCallRate == 0 {
		cfg.ConsecutiveFailures = 5
	}
	if cfg.WindowSize == 0 {
		cfg.WindowSize = 100
	}
	if cfg.MinimumCalls == 0 {
		cfg.MinimumCalls = 10
		if cfg.WindowDuration == 0 {
			cfg.MinimumCalls = min(10, cfg.WindowSize)
		}
	}
	if cfg.WindowDuration == 0 && cfg.MinimumCalls > cfg.WindowSize {
		return cfg, fmt.Errorf("breaker: Config.MinimumCalls (%d) must be <= WindowSize (%d)", cfg.MinimumCalls, cfg.WindowSize)
	}
	if cfg.OpenDuration == 0 {
		cfg.OpenDuration = 60 * time.Second
	}
	if cfg.HalfOpenProbes == 0 {
		cfg.HalfOpenProbes = 1
	}
	if cfg.HalfOpenSuccesses == 0 {
		cfg.HalfOpenSuccesses = cfg.HalfOpenProbes
	}
	if cfg.Classifier == nil {
		cfg.Classifier = DefaultClassifier
	}
	for i, l := range cfg.OnStateChange {
		if l == nil {
			return cfg, fmt.Errorf("breaker: Config.OnStateChange[%d] is nil", i)
		}
	}
	return cfg, nil
}

// windowed reports whether a rate condition needs the window.
func (cfg Config) windowed() bool { return cfg.FailureRate > 0 || cfg.SlowCallRate > 0 }
