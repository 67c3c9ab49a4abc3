package ratelimit

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// window is one rate a Keyed limiter enforces, in exact integer arithmetic.
//
// A key's state for the window is its debt: how far its bucket is from full,
// in "units" chosen so that both the cost of one token and the refill per
// nanosecond are whole numbers. With g = gcd(Period, Limit), one token costs
// Period/g units and Limit/g units are restored per nanosecond, so Limit
// tokens are restored per Period exactly, with no floating-point drift. A
// bucket holds Burst tokens: the debt ranges over [0, Burst·cost], and above
// that only while a Wait has reserved a unit that is not yet due.
//
// This is GCRA (the generic cell rate algorithm) written as a debt instead
// of a theoretical arrival time, so that a non-integral interval (3 per
// second) needs no fractional nanoseconds. It makes the same decisions as a
// golang.org/x/time/rate bucket with the same limit and burst, including
// that bucket's rule that a unit due in less than a nanosecond is granted
// now.
type window struct {
	rateConfig
	// name is the window's policy name when the limiter has several.
	name string
	// cost is the debt one token adds; perNs the debt restored per ns.
	cost, perNs int64
	// capacity is Burst·cost: the most debt an allowed call may leave.
	capacity int64
}

// maxDebt bounds any debt the arithmetic produces, leaving headroom so that
// sums of a debt and a cost never overflow int64.
const maxDebt = math.MaxInt64 / 4

func newWindow(rc rateConfig) (window, error) {
	period, limit := int64(rc.period), int64(rc.limit)
	g := gcd(period, limit)
	cost, perNs := period/g, limit/g
	// A bucket whose exact capacity does not fit is one with an enormous
	// Burst over a long Period and a Limit prime to it. Halve both scales
	// (a relative error of at most 1/perNs + 1/cost, under one part in 10^6
	// by the time it applies) until it fits.
	for int64(rc.burst) > maxDebt/cost/2 && perNs >= 1<<20 && cost >= 1<<20 {
		cost, perNs = cost/2, perNs/2
	}
	if int64(rc.burst) > maxDebt/cost/2 {
		return window{}, fmt.Errorf("burst %d at %d per %s takes too long to refill to track (more than a century)", rc.burst, rc.limit, rc.period)
	}
	return window{rateConfig: rc, cost: cost, perNs: perNs, capacity: int64(rc.burst) * cost}, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// refill returns debt after elapsed nanoseconds of refilling (never below
// zero: a full bucket gains nothing).
func (w *window) refill(debt, elapsed int64) int64 {
	if elapsed <= 0 || debt == 0 {
		return debt
	}
	// elapsed*perNs may overflow when elapsed is long; compare by division
	// first: if the bucket refills completely, no multiplication is needed.
	if elapsed >= debt/w.perNs+1 {
		return 0
	}
	return debt - elapsed*w.perNs
}

// wait returns how long after now a debt that includes a new take becomes
// conforming, truncated to whole nanoseconds as x/time/rate does (so a take
// due in under 1ns is granted now).
func (w *window) wait(debt int64) time.Duration {
	over := debt - w.capacity
	if over <= 0 {
		return 0
	}
	return time.Duration(over / w.perNs)
}

// decision describes a bucket with this debt (after the take, if it was
// allowed) for response headers, in exact arithmetic: the whole tokens
// left, the time until the next one is restored, rounded up, and when the
// take of n was refused, the time until n are available.
func (w *window) decision(allowed bool, debt, n int64) Decision {
	d := Decision{Allowed: allowed}
	avail := w.capacity - debt
	if avail >= w.cost {
		d.Remaining = int(avail / w.cost)
	}
	if !allowed {
		if short := n*w.cost - avail; short > 0 {
			d.RetryAfter = time.Duration(ceilDiv(short, w.perNs))
		}
	}
	if avail >= w.capacity {
		return d
	}
	// Units until the bucket gains its next whole token.
	missing := w.cost - avail%w.cost
	if avail < 0 {
		missing = w.cost - avail
	}
	d.Reset = time.Duration(ceilDiv(missing, w.perNs))
	return d
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// CombinePolicies makes one Decision from every window's, for limiters that
// keep their windows elsewhere (redislimit): Remaining and Reset of the most
// restrictive window (fewest units left; on a tie, the longer Reset), the
// longest RetryAfter, and the windows in that order of restriction in
// Policies. It sorts ps in place.
func CombinePolicies(allowed bool, ps []PolicyDecision) Decision {
	slices.SortStableFunc(ps, func(a, b PolicyDecision) int {
		if a.Remaining != b.Remaining {
			return cmp.Compare(a.Remaining, b.Remaining)
		}
		return cmp.Compare(b.Reset, a.Reset)
	})
	d := Decision{Allowed: allowed, Remaining: ps[0].Remaining, Reset: ps[0].Reset, Policies: ps}
	for _, p := range ps {
		d.RetryAfter = max(d.RetryAfter, p.RetryAfter)
	}
	return d
}
