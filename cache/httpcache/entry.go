package httpcache

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// entry is a stored record: a response, or a URL's variants record (what
// its responses vary on, and whether they are shared).
type entry struct {
	key      string // the key it is stored under, checked on every lookup
	variants bool   // a variants record, not a response

	// variants records, and responses for the fields they vary on.
	vary   []string
	shared bool
	// pass marks a variants record as "uncacheable for now": requests for
	// the URL go to the handler without waiting for one another.
	pass bool

	// responses
	decision decision // decisionStored, or why it was not stored
	tooLarge bool     // over MaxResponseSize: the body was dropped
	// sawConditionals: the handler was asked with the request's
	// conditional fields (a call for one request), so its status stands.
	sawConditionals bool
	varyValues      []string // the request's values of the vary fields
	id              uint64
	status          int
	header          http.Header // every value slice has len == cap: an append copies
	body            []byte
	etag            string
	originETag      bool // etag is the handler's, not one the cache generated
	principal       string
	storedAt        time.Time
	initialAge      time.Duration
	fresh           time.Duration // freshness lifetime
	swr, sie        time.Duration // stale-while-revalidate, stale-if-error windows
	seq             uint64        // invalidation sequence before the origin call
	slots           []slotPair    // invalidation slots: path prefixes and tags
	size            int64
	// contentLength is the Content-Length field value, built once (len == cap).
	contentLength []string

	refreshing atomic.Bool  // one background revalidation at a time
	charged    atomic.Int64 // bytes counted in the cache's total, released once
}

// age is the entry's current age (RFC 9111 §4.2.3).
func (e *entry) age(now time.Time) time.Duration {
	return e.initialAge + now.Sub(e.storedAt)
}

// lifetime is how long the entry is kept: fresh, then usable stale, and,
// with a validator of the handler's, long enough after that to be
// revalidated (see keepForRevalidation).
func (e *entry) lifetime() time.Duration {
	keep := time.Duration(0)
	if e.validatable() {
		keep = min(e.fresh, keepForRevalidation)
	}
	return e.fresh + max(e.swr, e.sie, keep) - e.initialAge
}

// keepForRevalidation bounds how long past its freshness lifetime a
// response with a validator is kept (as long again as that lifetime, at
// most this): only to send its validators to the handler on the next
// request (revalidate.go), never to be served without the handler's 304.
const keepForRevalidation = time.Hour

// validatable reports whether the handler can be asked whether the
// response is still current: a 200 with its own ETag or Last-Modified.
func (e *entry) validatable() bool {
	return e.status == http.StatusOK && (e.originETag || len(e.header["Last-Modified"]) > 0)
}

// strongETag is a strong validator computed from the body: 128 bits of
// SHA-256, so that two different bodies do not share one.
func strongETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// hopByHop are fields that describe one connection, never stored.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// notModifiedFields are the fields a 304 repeats (RFC 9110 §15.4.5).
var notModifiedFields = []string{"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Vary"}

// write answers r from e. Age and Cache-Status are added; a request whose
// If-None-Match matches gets 304.
func (m *Middleware) write(w http.ResponseWriter, r *http.Request, e *entry, now time.Time, status string) {
	h := w.Header()
	notModified := e.status == http.StatusOK && e.etag != "" && ifNoneMatch(r.Header.Values("If-None-Match"), e.etag)
	if notModified {
		for _, name := range notModifiedFields {
			if v, ok := e.header[name]; ok {
				h[name] = v
			}
		}
	} else {
		for name, v := range e.header {
			h[name] = v
		}
		h["Content-Length"] = e.contentLength
	}
	if m.cfg.CacheStatus != "" {
		h["Cache-Status"] = []string{m.cfg.CacheStatus + "; " + status}
	}
	age := max(e.age(now), 0)
	h["Age"] = []string{strconv.FormatInt(int64(age/time.Second), 10)}
	if notModified {
		m.metrics.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && bodyAllowed(e.status) {
		_, _ = w.Write(e.body) // the client went away: nothing to do
	}
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && status >= 200
}

// Bounds on reading If-None-Match: a longer field is ignored (no 304).
const (
	maxIfNoneMatchBytes = 4 << 10
	maxIfNoneMatchTags  = 64
)

// ifNoneMatch reports whether the If-None-Match field lines match etag by
// the weak comparison RFC 9110 §13.1.2 asks for. A malformed field matches
// nothing: the full response is sent.
func ifNoneMatch(lines []string, etag string) bool {
	if len(lines) == 0 {
		return false
	}
	want := opaque(etag)
	total, count := 0, 0
	for _, s := range lines {
		total += len(s)
		if total > maxIfNoneMatchBytes {
			return false
		}
		for {
			s = trimListSpace(s)
			if s == "" {
				break
			}
			if s[0] == '*' {
				return true
			}
			if count++; count > maxIfNoneMatchTags {
				return false
			}
			tag, rest, ok := scanETag(s)
			if !ok {
				return false
			}
			if opaque(tag) == want {
				return true
			}
			s = rest
		}
	}
	return false
}

func trimListSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == ',') {
		s = s[1:]
	}
	return s
}

// scanETag reads one entity-tag ([W/] DQUOTE *etagc DQUOTE) from the start of s.
func scanETag(s string) (tag, rest string, ok bool) {
	start := 0
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		start = 2
	}
	if len(s) <= start || s[start] != '"' {
		return "", "", false
	}
	for i := start + 1; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return s[:i+1], s[i+1:], true
		}
		if c != 0x21 && (c < 0x23 || c == 0x7f) {
			return "", "", false
		}
	}
	return "", "", false
}

// opaque drops the weakness indicator: weak comparison ignores it.
func opaque(tag string) string {
	if len(tag) >= 2 && tag[0] == 'W' && tag[1] == '/' {
		return tag[2:]
	}
	return tag
}
