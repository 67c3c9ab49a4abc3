package hedge

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Budget is what hedged requests spend, so that hedging cannot multiply the
// load on a dependency that is slow or failing. A *retry.Budget satisfies it
// (this package does not import retry: the method set is the contract).
type Budget interface {
	// TryWithdraw takes what one hedged request costs, if the budget allows
	// it now, and reports whether it did.
	TryWithdraw() bool
	// Deposit credits one successful call.
	Deposit()
}

// Health tells whether a dependency welcomes extra load. A *breaker.Breaker
// satisfies it: Healthy is true while the breaker is closed (or disabled).
type Health interface {
	Healthy() bool
}

// Config configures a Policy. The zero value of every field is a documented
// default, except that a delay must be given: Delay, Percentile or both.
type Config struct {
	// Name identifies the policy in metrics (keel.hedge.name) and errors.
	// Keep it low-cardinality: the dependency, not a URL. Default "default".
	Name string

	// Delay is how long an attempt may run before the next hedged attempt is
	// sent. With Percentile set, it is the delay used until MinSamples
	// latencies have been observed (0: no hedging until then). Without
	// Percentile it is required (> 0): sending every request twice at once
	// is load, not hedging.
	Delay time.Duration

	// Percentile, in (0,1), makes the delay adaptive: a hedge is sent when
	// the attempts have run longer than this percentile of the latencies of
	// recent successful calls (0.95: the slowest 5% get a hedge). Default 0:
	// the fixed Delay.
	Percentile float64

	// Window is how many recent successful calls the percentile is computed
	// over, in [1, 65536]. Default 1000.
	Window int

	// MinSamples is how many latencies must be observed before the
	// percentile replaces Delay, in [1, Window]. Default 100, or Window when
	// that is smaller.
	MinSamples int

	// MaxHedges is the most hedged attempts per call, beside the first, in
	// [1, 16]. Default 1. Each is sent a delay after the previous one.
	MaxHedges int

	// Budget, when set, is charged for every hedged attempt (one
	// TryWithdraw each, up front) and credited for every successful call
	// (Deposit); a hedge it refuses is not sent. Share a *retry.Budget with
	// the dependency's retry policy so that retries and hedges together stay
	// within one bound. Default nil: hedges are limited only by MaxHedges.
	Budget Budget

	// Breaker, when set, is asked before each hedge: no hedge is sent unless
	// it is Healthy, so that a dependency the breaker suspects gets no extra
	// load. Pass the dependency's *breaker.Breaker. Default nil: not asked.
	Breaker Health

	// MeterProvider for the keel.hedge.* instruments; nil means otel's global
	// (a no-op until the application installs one). A noop.MeterProvider
	// switches measurement off entirely.
	MeterProvider metric.MeterProvider
}

const (
	defaultWindow     = 1000
	defaultMinSamples = 100
	maxWindow         = 1 << 16
	maxHedges         = 16
)

// withDefaults validates cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	switch {
	case cfg.Delay < 0:
		return cfg, fmt.Errorf("hedge: Config.Delay must be >= 0, got %v", cfg.Delay)
	case math.IsNaN(cfg.Percentile) || cfg.Percentile < 0 || cfg.Percentile >= 1:
		return cfg, fmt.Errorf("hedge: Config.Percentile must be in (0,1) (0 means a fixed Delay), got %v", cfg.Percentile)
	case cfg.Percentile == 0 && cfg.Delay == 0:
		return cfg, fmt.Errorf("hedge: Config.Delay must be > 0 when Percentile is not set")
	case cfg.Window < 0 || cfg.Window > maxWindow:
		return cfg, fmt.Errorf("hedge: Config.Window must be in [1,%d] (0 means %d), got %d", maxWindow, defaultWindow, cfg.Window)
	case cfg.MaxHedges < 0 || cfg.MaxHedges > maxHedges:
		return cfg, fmt.Errorf("hedge: Config.MaxHedges must be in [1,%d] (0 means 1), got %d", maxHedges, cfg.MaxHedges)
	case cfg.MinSamples < 0:
		return cfg, fmt.Errorf("hedge: Config.MinSamples must be >= 1 (0 means %d), got %d", defaultMinSamples, cfg.MinSamples)
	}
	if isNilPointer(cfg.Budget) {
		return cfg, fmt.Errorf("hedge: Config.Budget is a nil %T", cfg.Budget)
	}
	if isNilPointer(cfg.Breaker) {
		return cfg, fmt.Errorf("hedge: Config.Breaker is a nil %T", cfg.Breaker)
	}
	if cfg.Window == 0 {
		cfg.Window = defaultWindow
	}
	if cfg.MinSamples == 0 {
		cfg.MinSamples = min(defaultMinSamples, cfg.Window)
	}
	if cfg.MinSamples > cfg.Window {
		return cfg, fmt.Errorf("hedge: Config.MinSamples (%d) must be <= Window (%d)", cfg.MinSamples, cfg.Window)
	}
	if cfg.MaxHedges == 0 {
		cfg.MaxHedges = 1
	}
	return cfg, nil
}

// isNilPointer reports whether v is an interface holding a nil pointer (a
// typed nil such as (*breaker.Breaker)(nil)), which would panic when called.
func isNilPointer(v any) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
