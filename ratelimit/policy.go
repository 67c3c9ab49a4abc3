package ratelimit

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Quota describes a rate limit the way clients see it: Quota units per
// Window. The HTTP middleware advertises it in the RateLimit-Policy field
// (where the IETF draft calls it a quota policy). It describes a limit; the
// package's executable policies, with the Do shape, are Limiter and
// Bulkhead.
type Quota struct {
	// Name identifies the policy in the RateLimit and RateLimit-Policy
	// fields and in metrics ("default" when the limiter's Name is empty).
	Name string
	// Quota is the number of units (requests) allowed per Window.
	Quota int
	// Window is the period over which Quota applies.
	Window time.Duration
	// Burst is the most units that can be taken at one instant (the bucket's
	// capacity).
	Burst int
}

// Policy is the former name of Quota, renamed because a Policy elsewhere in
// Keel (retry.Policy, resilience.Policy) is something with a Do method.
//
// Deprecated: use Quota.
type Policy = Quota

// Window is one of several limits a key is held to at once (KeyedConfig.
// Windows, redislimit.Config.Windows): Limit units restored per Period, at
// most Burst at one instant. A call is allowed only when every window can
// grant its cost, and then it is taken from all of them.
type Window struct {
	// Name identifies the window as a policy in the RateLimit and
	// RateLimit-Policy fields and in problem bodies ("per-minute").
	// Required, unique within the limiter, printable ASCII.
	Name string
	// Limit is the number of units restored per Period. Required (> 0).
	Limit int
	// Period is the time over which Limit units are restored. Default 1s;
	// at least 1ms.
	Period time.Duration
	// Burst is the window's capacity. Default Limit.
	Burst int
}

// PolicyDecision is what one window of a several-window limiter held after
// a decision.
type PolicyDecision struct {
	// Policy is the window's Name.
	Policy string
	// Remaining is how many more units the window would grant now.
	Remaining int
	// Reset is how long until the window restores its next unit (0 when
	// full).
	Reset time.Duration
	// RetryAfter is, when this window refused the call, how long until it
	// could grant it; 0 when it could grant it.
	RetryAfter time.Duration
}

// Decision is the outcome of taking units from a keyed limiter. With several
// windows, Remaining and Reset describe the most restrictive one (fewest
// units remaining) and RetryAfter the time until every window could grant
// the call.
type Decision struct {
	// Allowed reports whether the unit was granted.
	Allowed bool
	// Remaining is how many more units could be taken right now (never
	// negative).
	Remaining int
	// RetryAfter is, when Allowed is false, how long until one unit is
	// available again; 0 when Allowed is true.
	RetryAfter time.Duration
	// Reset is how long until one more unit is restored to the bucket: the
	// time within which the client can use no more than Remaining units.
	// 0 when the bucket is already full.
	Reset time.Duration
	// Policies holds every window's state, most restrictive first, when the
	// limiter has several windows; nil when it has one.
	Policies []PolicyDecision
}

// Violated returns the names of the windows that refused the call (for a
// problem body's violated-policies), or nil when it was allowed. name is the
// limiter's policy name, reported when it has a single window.
func (d Decision) Violated(name string) []string {
	if d.Allowed {
		return nil
	}
	if d.Policies == nil {
		return []string{name}
	}
	var out []string
	for _, p := range d.Policies {
		if p.RetryAfter > 0 {
			out = append(out, p.Policy)
		}
	}
	if out == nil {
		// Refused with no wait: the cost exceeds what any window grants.
		for _, p := range d.Policies {
			out = append(out, p.Policy)
		}
	}
	return out
}

// rateConfig is the part of every rate limiter's Config that defines the
// bucket: Limit units per Period with capacity Burst.
type rateConfig struct {
	limit  int
	period time.Duration
	burst  int
}

// defaultPeriod is the Period used when a Config leaves it zero.
const defaultPeriod = time.Second

// validateRate checks Limit, Period and Burst and applies their defaults.
// typeName prefixes the field names in errors ("Config", "KeyedConfig").
func validateRate(typeName string, limit int, period time.Duration, burst int) (rateConfig, error) {
	if limit <= 0 {
		return rateConfig{}, fmt.Errorf("ratelimit: %s.Limit must be > 0, got %d", typeName, limit)
	}
	if period < 0 {
		return rateConfig{}, fmt.Errorf("ratelimit: %s.Period must be >= 0 (0 means 1s), got %s", typeName, period)
	}
	if period == 0 {
		period = defaultPeriod
	}
	if period < time.Millisecond {
		return rateConfig{}, fmt.Errorf("ratelimit: %s.Period must be at least 1ms, got %s", typeName, period)
	}
	if burst < 0 {
		return rateConfig{}, fmt.Errorf("ratelimit: %s.Burst must be >= 0 (0 means Limit), got %d", typeName, burst)
	}
	if burst == 0 {
		burst = limit
	}
	return rateConfig{limit: limit, period: period, burst: burst}, nil
}

// rate is the refill rate in units per second.
func (c rateConfig) rate() rate.Limit {
	return rate.Limit(float64(c.limit) / c.period.Seconds())
}

// interval is the time it takes to restore one unit.
func (c rateConfig) interval() time.Duration {
	return time.Duration(float64(c.period) / float64(c.limit))
}

// fullRefill is the time an empty bucket takes to fill up: after that long
// idle, a bucket is indistinguishable from a new one.
func (c rateConfig) fullRefill() time.Duration {
	return time.Duration(math.Ceil(float64(c.period) * float64(c.burst) / float64(c.limit)))
}

func (c rateConfig) policy(name string) Quota {
	return Quota{Name: name, Quota: c.limit, Window: c.period, Burst: c.burst}
}

// DecisionFromTokens turns a token bucket's content after a take into a
// Decision, for limiters that keep their buckets elsewhere (redislimit).
// tokens is what the bucket holds once the take has been applied (or, when it
// was refused, what it holds unchanged); it can be negative when reservations
// have borrowed from the future. interval is the time one unit takes to be
// restored.
func DecisionFromTokens(allowed bool, tokens float64, burst int, interval time.Duration) Decision {
	d := Decision{Allowed: allowed}
	if tokens >= 1 {
		d.Remaining = int(math.Floor(tokens))
	}
	if tokens >= float64(burst) {
		return d
	}
	// Time until the bucket gains its next whole unit: up to 1 when it is
	// short of one, else up to the next integer.
	missing := math.Floor(tokens) + 1 - tokens
	if tokens < 0 {
		missing = 1 - tokens
	}
	d.Reset = time.Duration(math.Ceil(missing * float64(interval)))
	if !allowed {
		d.RetryAfter = d.Reset
	}
	return d
}

// orDiscard returns l, or a logger that discards everything when l is nil:
// constructors set it once, so no call site tests for nil
// (docs/CONVENTIONS.md).
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// name returns n, or "default" when n is empty.
func nameOr(n string) string {
	if n == "" {
		return "default"
	}
	return n
}
