package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Header field names from draft-ietf-httpapi-ratelimit-headers (revision 11).
const (
	HeaderRateLimitPolicy = "RateLimit-Policy"
	HeaderRateLimit       = "RateLimit"
	HeaderRetryAfter      = "Retry-After"
)

// validPolicyName reports whether name can be serialised as a Structured
// Field String (RFC 9651 §3.3.3): printable ASCII only. Quotes and
// backslashes are allowed; they are escaped when written.
func validPolicyName(name string) error {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("ratelimit: policy name %q must be printable ASCII (byte %#x at %d)", name, c, i)
		}
	}
	return nil
}

// appendSFString appends s as a Structured Field String. s has passed
// validPolicyName.
func appendSFString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// formatPolicy renders the RateLimit-Policy field value for p: one Quota
// Policy Item, the policy name with q (quota) and w (window in whole seconds,
// at least 1).
//
//	"api";q=100;w=60
//
// The field has no sub-second windows, so a Period that is not a whole number
// of seconds is stated over the next whole second at the same rate, rounded
// down: 10 per 100ms is advertised as q=100;w=1, 3 per 1.5s as q=4;w=2.
func formatPolicy(p Quota) string {
	w := ceilSeconds(p.Window)
	q := int64(p.Quota)
	if time.Duration(w)*time.Second != p.Window {
		q = int64(math.Floor(float64(p.Quota) * float64(time.Duration(w)*time.Second) / float64(p.Window)))
	}
	b := appendSFString(nil, p.Name)
	b = append(b, ";q="...)
	b = strconv.AppendInt(b, q, 10)
	b = append(b, ";w="...)
	b = strconv.AppendInt(b, w, 10)
	return string(b)
}

// formatPolicies renders the RateLimit-Policy field for every policy: a
// List with one Quota Policy Item each.
//
//	"per-minute";q=100;w=60, "per-hour";q=1000;w=3600
func formatPolicies(ps []Quota) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = formatPolicy(p)
	}
	return strings.Join(parts, ", ")
}

// formatRateLimits renders the RateLimit field for a several-window
// decision: one item per policy, in the order given (most restrictive
// first, as the draft requires the field for the window with the lowest
// remaining quota). names maps a policy to its serialised name.
//
//	"per-minute";r=0;t=1, "per-hour";r=940;t=4
func formatRateLimits(names map[string][]byte, ps []PolicyDecision) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		name, ok := names[p.Policy]
		if !ok {
			name = appendSFString(nil, p.Policy)
		}
		parts[i] = formatRateLimit(name, Decision{Remaining: p.Remaining, Reset: p.Reset})
	}
	return strings.Join(parts, ", ")
}

// formatRateLimit renders the RateLimit field value for one decision: the
// policy name with r (available quota) and, when the bucket is not full, t
// (seconds until the next unit is restored, rounded up).
//
//	"api";r=7;t=1
func formatRateLimit(name []byte, d Decision) string {
	b := make([]byte, 0, len(name)+24)
	b = append(b, name...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(max(d.Remaining, 0)), 10)
	if d.Reset > 0 {
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, ceilSeconds(d.Reset), 10)
	}
	return string(b)
}

// ceilSeconds rounds d up to whole seconds, at least 1: the delay-seconds of
// RFC 9110 have no fractions, and rounding down would invite a retry that is
// refused again.
func ceilSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	return max(s, 1)
}
