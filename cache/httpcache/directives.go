package httpcache

import (
	"net/http"
	"strings"
	"time"
)

// Bounds on what a Cache-Control field may cost to read. A field longer than
// maxDirectiveBytes, or with more than maxDirectives members, is hostile or
// broken: the response is treated as uncacheable (the safe reading).
const (
	maxDirectiveBytes = 4 << 10
	maxDirectives     = 32
	// maxDeltaSeconds is RFC 9111 §1.2.2's cap: a delta-seconds too large
	// for the cache is read as 2^31.
	maxDeltaSeconds = 1 << 31
)

// directives is a response's Cache-Control, as RFC 9111 §5.2.2 defines it.
// A duration of -1 means the directive is absent.
type directives struct {
	noStore, noCache, private, public                   bool
	mustRevalidate, proxyRevalidate                     bool
	maxAge, sMaxAge, staleWhileRevalidate, staleIfError time.Duration
	// invalid is set for a field that cannot be trusted: malformed, too
	// long, or a freshness directive given twice (§4.2.1 asks caches to
	// treat such responses as stale).
	invalid bool
}

// parseDirectives reads every Cache-Control field line of h.
func parseDirectives(h http.Header) directives {
	d := directives{maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}
	lines := h.Values("Cache-Control")
	total, count := 0, 0
	for _, line := range lines {
		total += len(line)
		if total > maxDirectiveBytes {
			d.invalid = true
			return d
		}
		for line != "" {
			var member string
			member, line = nextMember(line)
			if member == "" {
				continue
			}
			count++
			if count > maxDirectives {
				d.invalid = true
				return d
			}
			name, value, hasValue := strings.Cut(member, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.TrimSpace(value)
			switch name {
			case "no-store":
				d.noStore = true
			case "no-cache":
				d.noCache = true // with or without field names: the whole response
			case "private":
				d.private = true // with or without field names: the whole response
			case "public":
				d.public = true
			case "must-revalidate":
				d.mustRevalidate = true
			case "proxy-revalidate":
				d.proxyRevalidate = true
			case "max-age":
				d.setSeconds(&d.maxAge, value, hasValue)
			case "s-maxage":
				d.setSeconds(&d.sMaxAge, value, hasValue)
			case "stale-while-revalidate":
				d.setSeconds(&d.staleWhileRevalidate, value, hasValue)
			case "stale-if-error":
				d.setSeconds(&d.staleIfError, value, hasValue)
			}
		}
	}
	return d
}

// nextMember splits off the first comma-separated member of s, honouring
// quoted strings (a comma inside quotes does not end the member).
func nextMember(s string) (member, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return strings.TrimSpace(s[:i]), s[i+1:]
		}
	}
	return strings.TrimSpace(s), ""
}

// setSeconds stores a delta-seconds value (quoted or not) in *dst. A
// missing, malformed or repeated value marks the field invalid.
func (d *directives) setSeconds(dst *time.Duration, value string, hasValue bool) {
	if !hasValue || *dst != -1 {
		d.invalid = true
		return
	}
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	n, ok := parseDeltaSeconds(value)
	if !ok {
		d.invalid = true
		return
	}
	*dst = time.Duration(n) * time.Second
}

// parseDeltaSeconds reads 1*DIGIT, capped at 2^31 (RFC 9111 §1.2.2).
func parseDeltaSeconds(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDeltaSeconds {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDeltaSeconds), true
}
