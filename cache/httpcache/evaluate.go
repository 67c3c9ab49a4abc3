package httpcache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// heuristicallyCacheable are the status codes RFC 9110 §15.1 lets a cache
// store without explicit freshness (Config.DefaultTTL applies to them).
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// storableStatus are the statuses stored with explicit freshness: the
// heuristic ones plus redirects. 206 (no range support), 304 and every
// other 5xx are never stored, so an error never replaces a good copy.
func storableStatus(status int) bool {
	return heuristicallyCacheable(status) || status == 302 || status == 307
}

// evaluate turns a recorded response into an entry and decides, by RFC
// 9111 §3 and the rules in doc.go, whether it may be stored.
func (m *Middleware) evaluate(rec *recorder, r *http.Request, info *requestInfo, seq uint64) *entry {
	now := time.Now()
	status := rec.status
	if !rec.wroteHeader {
		status = http.StatusOK
	}
	e := &entry{status: status, principal: info.principal, seq: seq, storedAt: now, tooLarge: rec.tooLarge}
	// Every decision is made on the canonical form: a handler may write
	// the map directly (w.Header()["set-cookie"]), and net/http sends such
	// a key as it is, so a check for "Set-Cookie" alone would miss it.
	rec.header = canonicalHeader(rec.header)
	e.header = storedHeader(rec.header, m.cfg.TagHeader)
	if !rec.tooLarge {
		e.body = append([]byte(nil), rec.body.Bytes()...) // exact size: the buffer may have grown past it
	}
	e.contentLength = []string{strconv.Itoa(len(e.body))}
	e.decision = m.decide(rec, r, info, e, now)
	if e.decision == decisionStored {
		e.etag = rec.header.Get("Etag")
		e.originETag = e.etag != ""
		if e.etag == "" && status == http.StatusOK {
			e.etag = strongETag(e.body)
			e.header["Etag"] = []string{e.etag}
		}
	}
	return e
}

func (m *Middleware) decide(rec *recorder, r *http.Request, info *requestInfo, e *entry, now time.Time) decision {
	h := rec.header
	switch {
	case rec.tooLarge:
		return decisionTooLarge
	case !storableStatus(e.status):
		return decisionStatus
	}
	d := parseDirectives(h)
	switch {
	case d.invalid:
		return decisionMalformed
	case d.noStore:
		return decisionNoStore
	case d.noCache:
		return decisionNoCache // would need validating with the handler on every use
	case hasFold(h, "Set-Cookie"): // h is canonical; any spelling is checked all the same
		return decisionSetCookie
	case h["Trailer"] != nil || hasTrailers(h):
		return decisionMalformed
	}
	vary, star, ok := parseVary(h)
	if star || !ok {
		return decisionVary
	}
	e.vary = vary
	e.varyValues = make([]string, len(vary))
	for i, name := range vary {
		e.varyValues[i] = varyValue(r, name)
	}
	tags, ok := parseTags(h.Values(m.cfg.TagHeader))
	if !ok {
		return decisionMalformed
	}
	e.shared = (d.public || d.sMaxAge >= 0) && !d.private
	switch {
	case d.private && (m.cfg.Principal == nil || info.principal == ""):
		return decisionPrivate
	case !e.shared && info.sharedOnly:
		return decisionCredentials
	}
	fresh, ok := freshness(h, d, now)
	if !ok {
		if m.cfg.DefaultTTL <= 0 || !heuristicallyCacheable(e.status) {
			return decisionNoFreshness
		}
		fresh = m.cfg.DefaultTTL
	}
	e.initialAge = initialAge(h)
	if fresh <= e.initialAge {
		return decisionNoFreshness
	}
	e.fresh = fresh
	if !d.mustRevalidate && !d.proxyRevalidate {
		e.swr = max(d.staleWhileRevalidate, 0)
		e.sie = max(d.staleIfError, 0)
	}
	e.slots = m.inval.pathSlots(r.URL.Path, make([]slotPair, 0, 8+len(tags)))
	for _, tag := range tags {
		e.slots = append(e.slots, m.inval.tagSlot(tag))
	}
	// Everything the record holds counts toward MaxBytes: Vary names and
	// the request's values (16 bytes each for the string headers), and the
	// slots (4 bytes each).
	e.size = int64(len(e.body)) + headerSize(e.header) + int64(len(info.principal)) + 256 +
		varySize(e.vary) + varySize(e.varyValues) + int64(4*cap(e.slots))
	if e.size > m.cfg.MaxResponseSize {
		return decisionTooLarge
	}
	return decisionStored
}

// freshness is the response's freshness lifetime for a shared cache (RFC
// 9111 §4.2.1): s-maxage, else max-age, else Expires minus Date. ok is false
// when none is given. An Expires that is not a valid date means "already
// expired".
func freshness(h http.Header, d directives, now time.Time) (time.Duration, bool) {
	switch {
	case d.sMaxAge >= 0:
		return d.sMaxAge, true
	case d.maxAge >= 0:
		return d.maxAge, true
	}
	exp := h.Get("Expires")
	if exp == "" {
		return 0, false
	}
	expires, err := http.ParseTime(exp)
	if err != nil {
		return 0, true
	}
	date := now
	if v := h.Get("Date"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			date = t
		}
	}
	return max(expires.Sub(date), 0), true
}

// initialAge is the Age the handler reported (RFC 9111 §4.2.3 with no
// transit delay: the handler is in the process).
func initialAge(h http.Header) time.Duration {
	n, ok := parseDeltaSeconds(strings.TrimSpace(h.Get("Age")))
	if !ok {
		return 0
	}
	return time.Duration(n) * time.Second
}

func hasTrailers(h http.Header) bool {
	for name := range h {
		if strings.HasPrefix(name, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// storedHeader copies the fields worth keeping: not hop-by-hop, not the tag
// field, not Content-Length (written from the body), each value slice with
// len == cap so that a later append never writes into the stored copy.
func storedHeader(h http.Header, tagField string) http.Header {
	out := make(http.Header, len(h))
	for name, v := range h {
		if name == tagField || name == "Content-Length" || name == "Age" || containsString(hopByHop, name) {
			continue
		}
		out[name] = append(make([]string, 0, len(v)), v...)
	}
	return out
}

// canonicalHeader returns h with every key in canonical form, the values
// of keys that differ only in case merged; h itself if it is canonical.
func canonicalHeader(h http.Header) http.Header {
	canonical := true
	for name := range h {
		if http.CanonicalHeaderKey(name) != name {
			canonical = false
			break
		}
	}
	if canonical {
		return h
	}
	out := make(http.Header, len(h))
	for name, v := range h {
		c := http.CanonicalHeaderKey(name)
		out[c] = append(out[c], v...)
	}
	return out
}

// hasFold reports whether h has name in any case spelling.
func hasFold(h http.Header, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// delFold deletes name from h in every case spelling.
func delFold(h http.Header, name string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
}

func varySize(list []string) int64 {
	n := int64(24) // the slice header
	for _, s := range list {
		n += int64(len(s) + 16)
	}
	return n
}

func headerSize(h http.Header) int64 {
	var n int64
	for name, v := range h {
		for _, s := range v {
			n += int64(len(name) + len(s) + 4)
		}
	}
	return n
}
