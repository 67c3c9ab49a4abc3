package ratelimit

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Policy describes a rate limit the way clients see it: Quota units per
// Window. The HTTP middleware advertises it in the RateLimit-Policy field.
type Policy struct {
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

// Decision is the outcome of taking one unit from a keyed limiter.
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

func (c rateConfig) policy(name string) Policy {
	return Policy{Name: name, Quota: c.limit, Window: c.period, Burst: c.burst}
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

// name returns n, or "default" when n is empty.
func nameOr(n string) string {
	if n == "" {
		return "default"
	}
	return n
}
