package redislimit

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keel-go/keel/ratelimit"
)

//go:embed gcra_windows.lua
var gcraWindowsSource string

var gcraWindows = redis.NewScript(gcraWindowsSource)

// maxWindows bounds Config.Windows, as in ratelimit.KeyedConfig.
const maxWindows = 8

// window is one validated limit: Limit units per Period, capacity Burst.
type window struct {
	name        string
	limit       int
	period      time.Duration
	burst       int
	interval    time.Duration // time to restore one unit
	intervalArg string        // the same in microseconds, for the scripts
}

// configWindows validates Limit, Period and Burst, or Windows.
func configWindows(cfg Config) ([]window, error) {
	if len(cfg.Windows) == 0 {
		w, err := newWindow("Config", "", cfg.Limit, cfg.Period, cfg.Burst)
		if err != nil {
			return nil, err
		}
		return []window{w}, nil
	}
	if cfg.Limit != 0 || cfg.Period != 0 || cfg.Burst != 0 {
		return nil, fmt.Errorf("redislimit: Config: set either Limit, Period and Burst or Windows, not both")
	}
	if len(cfg.Windows) > maxWindows {
		return nil, fmt.Errorf("redislimit: Config.Windows: at most %d windows, got %d", maxWindows, len(cfg.Windows))
	}
	out := make([]window, len(cfg.Windows))
	seen := map[string]bool{}
	for i, cw := range cfg.Windows {
		field := fmt.Sprintf("Config.Windows[%d]", i)
		if cw.Name == "" {
			return nil, fmt.Errorf("redislimit: %s.Name is required", field)
		}
		if seen[cw.Name] {
			return nil, fmt.Errorf("redislimit: %s.Name %q is used by another window", field, cw.Name)
		}
		seen[cw.Name] = true
		w, err := newWindow(field, cw.Name, cw.Limit, cw.Period, cw.Burst)
		if err != nil {
			return nil, err
		}
		out[i] = w
	}
	return out, nil
}

func newWindow(field, name string, limit int, period time.Duration, burst int) (window, error) {
	if limit <= 0 {
		return window{}, fmt.Errorf("redislimit: %s.Limit must be > 0, got %d", field, limit)
	}
	if period == 0 {
		period = time.Second
	}
	if period < time.Millisecond {
		return window{}, fmt.Errorf("redislimit: %s.Period must be at least 1ms (0 means 1s), got %s", field, period)
	}
	if burst < 0 {
		return window{}, fmt.Errorf("redislimit: %s.Burst must be >= 0 (0 means Limit), got %d", field, burst)
	}
	if burst == 0 {
		burst = limit
	}
	interval := period / time.Duration(limit)
	if interval < time.Microsecond {
		return window{}, fmt.Errorf("redislimit: %s.Limit %d per %s restores a unit faster than every microsecond, finer than Redis TIME", field, limit, period)
	}
	return window{
		name: name, limit: limit, period: period, burst: burst, interval: interval,
		intervalArg: strconv.FormatFloat(float64(period)/float64(limit)/float64(time.Microsecond), 'f', -1, 64),
	}, nil
}

// decision turns what the script returned for this window (TAT - now, in
// µs, rounded down) into a Decision for a take of n units.
//
// The bucket holds (burst·T - (TAT - now)) / T units. The script keeps TAT
// to about a microsecond, so Remaining is computed from the upper end of
// that microsecond (rounding can then never hide a whole unit that the
// in-process limiter would report), and the durations from the lower end
// (never earlier than the unit is due). T is the exact interval, not the
// whole nanoseconds of w.interval.
func (w *window) decision(allowed bool, aheadMicros int64, n int) ratelimit.Decision {
	interval := float64(w.period) / float64(w.limit)
	ahead := float64(aheadMicros) * float64(time.Microsecond)
	tokens := float64(w.burst) - ahead/interval
	d := ratelimit.DecisionFromTokens(allowed, tokens, w.burst, w.interval)
	d.Remaining = 0
	if hi := min(float64(w.burst), tokens+float64(time.Microsecond/2)/interval); hi >= 1 {
		d.Remaining = int(math.Floor(hi))
	}
	d.RetryAfter = 0
	if short := float64(n) - tokens; !allowed && short > 0 {
		d.RetryAfter = time.Duration(math.Ceil(short * interval))
	}
	return d
}

// takeWindows takes n units from every window of key in one script run.
func (l *Limiter) takeWindows(ctx context.Context, key string, n int) (ratelimit.Decision, error) {
	args := make([]any, 0, 2+2*len(l.windows))
	args = append(args, n, l.nowArg())
	for _, w := range l.windows {
		args = append(args, w.intervalArg, w.burst)
	}
	res, err := gcraWindows.Run(ctx, l.client, []string{l.prefix + key}, args...).Int64Slice()
	if err == nil && len(res) != 1+len(l.windows) {
		err = fmt.Errorf("redislimit: script returned %d values, want %d", len(res), 1+len(l.windows))
	}
	if err != nil {
		return l.failed(ctx, err, key, n)
	}
	allowed := res[0] == 1
	l.count(allowed)
	l.answered(ctx)
	ps := make([]ratelimit.PolicyDecision, len(l.windows))
	for i := range l.windows {
		w := &l.windows[i]
		d := w.decision(allowed, res[i+1], n)
		ps[i] = ratelimit.PolicyDecision{Policy: w.name, Remaining: d.Remaining, Reset: d.Reset, RetryAfter: d.RetryAfter}
	}
	return ratelimit.CombinePolicies(allowed, ps), nil
}
