package adaptive

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/keel-go/keel/ratelimit"
)

// Defaults for the Config fields whose zero value stands for them.
const (
	// DefaultInitialLimit is the limit a Limiter starts from. It is low on
	// purpose: the limit grows by about log10(limit) per window while
	// latency stays flat, and a limiter that starts above a backend's
	// capacity learns an inflated no-load latency.
	DefaultInitialLimit = 10
	// DefaultMaxLimit caps the limit.
	DefaultMaxLimit = 1000
	// DefaultWindow is the shortest sampling window: the limit changes at
	// most once per window.
	DefaultWindow = 100 * time.Millisecond
	// DefaultMinSamples is how many completed calls a window needs before
	// it may change the limit.
	DefaultMinSamples = 10
	// DefaultBaselineWindow is how long the no-load latency estimate
	// remembers its least window: it is the least window average seen in
	// this span, so a backend that became slower for good is followed
	// after at most this long.
	DefaultBaselineWindow = 30 * time.Second
	// DefaultLowShare is the share of the limit that Low calls may fill.
	DefaultLowShare = 0.8
	// DefaultNormalShare is the share of the limit that Normal calls may
	// fill.
	DefaultNormalShare = 0.9
	// DefaultTenantShare is the share of the limit one tenant may fill.
	DefaultTenantShare = 0.5
)

// Config configures a Limiter. The zero value of every field is a
// documented default, so Config{} is a working limiter.
type Config struct {
	// Name identifies the limiter in errors, problem bodies and metrics.
	// Default "default".
	Name string
	// InitialLimit is the concurrency limit before any latency was
	// measured. Zero means DefaultInitialLimit (10), clamped into
	// [MinLimit, MaxLimit].
	InitialLimit int
	// MinLimit is the floor the limit never falls below. Zero means 1.
	MinLimit int
	// MaxLimit is the ceiling the limit never rises above. Zero means
	// DefaultMaxLimit (1000).
	MaxLimit int
	// Window is the shortest time between two limit changes; a window
	// also lasts at least twice the no-load latency, so a slow backend is
	// sampled over whole calls. Zero means DefaultWindow (100 ms).
	Window time.Duration
	// MinSamples is how many calls must complete in a window before it
	// counts. Zero means DefaultMinSamples (10).
	MinSamples int
	// BaselineWindow is how long the no-load latency estimate remembers.
	// Zero means DefaultBaselineWindow (30 s).
	BaselineWindow time.Duration
	// LowShare is the share of the current limit that Low calls may fill:
	// a Low call is refused once that many calls of any priority are in
	// flight, which keeps the rest as headroom for Normal and Critical.
	// In (0, NormalShare]. Zero means DefaultLowShare (0.8).
	LowShare float64
	// NormalShare is the share of the current limit that Normal calls may
	// fill; Critical calls may fill all of it. In [LowShare, 1]. Zero
	// means DefaultNormalShare (0.9).
	NormalShare float64
	// TenantShare is the share of the current limit that the calls of one
	// tenant (WithTenant, RequestTenant) may fill, at least one call. In
	// (0, 1]. Zero means DefaultTenantShare (0.5); 1 means no per-tenant
	// cap.
	TenantShare float64
	// RequestPriority classifies a request for Wrap. Nil means every
	// request has the priority its context carries (WithPriority), Normal
	// by default.
	RequestPriority func(*http.Request) Priority
	// RequestTenant names the tenant of a request for Wrap (an API key's
	// owner, an organisation id). Nil or "" means the tenant its context
	// carries (WithTenant), none by default: a call without a tenant is
	// held only by the limit.
	RequestTenant func(*http.Request) string
	// WriteProblem writes Wrap's 503 answer, with Retry-After already set.
	// Nil means ratelimit.WriteProblemJSON.
	WriteProblem func(w http.ResponseWriter, r *http.Request, p ratelimit.Problem)
	// MeterProvider supplies the meter. Nil means the otel global.
	MeterProvider metric.MeterProvider
	// Logger receives a line for each limit change (Debug) and for misuse
	// (a Permit released twice, Error). Nil means no logs.
	Logger *slog.Logger
}

// validate checks cfg and returns its copy with every default filled in.
func (cfg Config) validate() (Config, error) {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if cfg.MinLimit < 0 {
		return cfg, fmt.Errorf("adaptive: Config.MinLimit must be >= 0 (0 means 1), got %d", cfg.MinLimit)
	}
	if cfg.MinLimit == 0 {
		cfg.MinLimit = 1
	}
	if cfg.MaxLimit < 0 {
		return cfg, fmt.Errorf("adaptive: Config.MaxLimit must be >= 0 (0 means %d), got %d", DefaultMaxLimit, cfg.MaxLimit)
	}
	if cfg.MaxLimit == 0 {
		cfg.MaxLimit = max(DefaultMaxLimit, cfg.MinLimit)
	}
	if cfg.MinLimit > cfg.MaxLimit {
		return cfg, fmt.Errorf("adaptive: Config.MinLimit (%d) must not exceed Config.MaxLimit (%d)", cfg.MinLimit, cfg.MaxLimit)
	}
	if cfg.InitialLimit < 0 {
		return cfg, fmt.Errorf("adaptive: Config.InitialLimit must be >= 0 (0 means %d), got %d", DefaultInitialLimit, cfg.InitialLimit)
	}
	if cfg.InitialLimit == 0 {
		cfg.InitialLimit = min(max(DefaultInitialLimit, cfg.MinLimit), cfg.MaxLimit)
	}
	if cfg.InitialLimit < cfg.MinLimit || cfg.InitialLimit > cfg.MaxLimit {
		return cfg, fmt.Errorf("adaptive: Config.InitialLimit must be in [MinLimit, MaxLimit] = [%d, %d], got %d", cfg.MinLimit, cfg.MaxLimit, cfg.InitialLimit)
	}
	if cfg.Window < 0 {
		return cfg, fmt.Errorf("adaptive: Config.Window must be >= 0 (0 means %s), got %s", DefaultWindow, cfg.Window)
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MinSamples < 0 {
		return cfg, fmt.Errorf("adaptive: Config.MinSamples must be >= 0 (0 means %d), got %d", DefaultMinSamples, cfg.MinSamples)
	}
	if cfg.MinSamples == 0 {
		cfg.MinSamples = DefaultMinSamples
	}
	if cfg.BaselineWindow < 0 {
		return cfg, fmt.Errorf("adaptive: Config.BaselineWindow must be >= 0 (0 means %s), got %s", DefaultBaselineWindow, cfg.BaselineWindow)
	}
	if cfg.BaselineWindow == 0 {
		cfg.BaselineWindow = DefaultBaselineWindow
	}
	if cfg.BaselineWindow < cfg.Window {
		return cfg, fmt.Errorf("adaptive: Config.BaselineWindow (%s) must be at least Config.Window (%s)", cfg.BaselineWindow, cfg.Window)
	}
	var err error
	if cfg.LowShare, err = share("LowShare", cfg.LowShare, DefaultLowShare); err != nil {
		return cfg, err
	}
	if cfg.NormalShare, err = share("NormalShare", cfg.NormalShare, DefaultNormalShare); err != nil {
		return cfg, err
	}
	if cfg.LowShare > cfg.NormalShare {
		return cfg, fmt.Errorf("adaptive: Config.LowShare (%g) must not exceed Config.NormalShare (%g): Low calls would get more room than Normal ones", cfg.LowShare, cfg.NormalShare)
	}
	if cfg.TenantShare, err = share("TenantShare", cfg.TenantShare, DefaultTenantShare); err != nil {
		return cfg, err
	}
	if cfg.WriteProblem == nil {
		cfg.WriteProblem = ratelimit.WriteProblemJSON
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// share validates a fraction of the limit: zero means def, otherwise it
// must lie in (0, 1].
func share(field string, v, def float64) (float64, error) {
	if v == 0 {
		return def, nil
	}
	if math.IsNaN(v) || v < 0 || v > 1 {
		return 0, fmt.Errorf("adaptive: Config.%s must be in (0, 1] (0 means %g), got %g", field, def, v)
	}
	return v, nil
}
