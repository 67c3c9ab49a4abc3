package httpcache

import (
	"net/http"
)

// revalidate replaces stale, a stored response past its freshness (nil:
// nothing stored), with the handler's current answer. When stale carries a
// validator of the handler's own (its ETag, its Last-Modified), the handler
// is asked conditionally (RFC 9111 §4.3.1: If-None-Match, If-Modified-Since)
// and may answer 304 Not Modified instead of producing the body again; the
// 304 then refreshes the stored response (§4.3.4): its header fields replace
// the stored ones, freshness and cacheability are decided anew from the
// result as for any response, and the stored body is kept. Any other answer
// is a new response. An ETag the cache generated (the handler gave none) is
// never sent: the handler cannot know it, and a handler that compares
// validators (http.ServeContent) would answer the full response anyway.
// The call is shared (its answer serves every waiting request and the
// store), so the requests' own conditionals are not passed on.
func (m *Middleware) revalidate(r *http.Request, info *requestInfo, next http.Handler, stale *entry) *entry {
	if stale == nil || !stale.validatable() || !m.inval.valid(stale.seq, stale.slots) {
		return m.call(r, info, next, nil)
	}
	etag := ""
	if stale.originETag {
		etag = stale.etag
	}
	lastModified := ""
	if v := stale.header["Last-Modified"]; len(v) > 0 {
		lastModified = v[0]
	}
	seq := m.inval.current()
	plain := originRequest(r, false)
	req := plain.Clone(plain.Context())
	if etag != "" {
		req.Header["If-None-Match"] = []string{etag}
	}
	if lastModified != "" {
		req.Header["If-Modified-Since"] = []string{lastModified}
	}
	rec := newRecorder(m.cfg.MaxResponseSize, nil, []string{m.cfg.TagHeader})
	next.ServeHTTP(rec, req)
	if !rec.wroteHeader || rec.status != http.StatusNotModified {
		return m.settle(m.evaluate(rec, plain, info, seq), plain, info, false)
	}
	m.metrics.revalidated.Add(1)
	refreshed := newRecorder(m.cfg.MaxResponseSize, nil, nil)
	refreshed.header = stale.header.Clone()
	for name, v := range canonicalHeader(rec.header) {
		if name != "Content-Length" {
			refreshed.header[name] = v
		}
	}
	refreshed.status, refreshed.wroteHeader = stale.status, true
	refreshed.body.Write(stale.body)
	res := m.evaluate(refreshed, plain, info, seq)
	if rec.header.Values(m.cfg.TagHeader) == nil && len(stale.slots) > len(res.slots) {
		// The tag field is never stored, so the refreshed copy lost the
		// tags the first response gave unless the 304 repeats them: keep
		// the stored response's slots (its path's, the same, and its
		// tags'), so that InvalidateTags still reaches it.
		res.size += int64(4 * (cap(stale.slots) - cap(res.slots)))
		res.slots = stale.slots
	}
	return m.settle(res, plain, info, false)
}
