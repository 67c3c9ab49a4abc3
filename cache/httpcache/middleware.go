package httpcache

import (
	"context"
	"hash/maphash"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/keel-go/keel/cache"
)

// Middleware is a server-side HTTP response cache. Create it with New, put
// it around handlers with Wrap, and Close it when done. It is safe for
// concurrent use.
type Middleware struct {
	cfg     Config
	store   *cache.Cache[string, *entry]
	inval   *invalidator
	metrics *counters
	reg     metric.Registration
	ids     atomic.Uint64

	putSeed  maphash.Seed
	putLocks [64]sync.Mutex // serialise replacing a key's record, for byte accounting

	mu      sync.Mutex // orders Close after pending.Add
	closed  atomic.Bool
	pending sync.WaitGroup // background revalidations
}

// New creates a Middleware from cfg, validating it (the error names the field).
func New(cfg Config) (*Middleware, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Middleware{cfg: cfg, inval: newInvalidator(), metrics: new(counters), putSeed: maphash.MakeSeed()}
	counts := m.metrics
	store, err := cache.New(cache.Config[string, *entry]{
		Capacity: cfg.Capacity,
		// Records are stored with SetWithTTL and their own lifetime; a
		// value GetOrLoad would store under a flight key (never wanted:
		// every load deletes its flight key) expires at once.
		TTL:             time.Nanosecond,
		LoadTimeout:     cfg.LoadTimeout,
		CleanupInterval: cfg.CleanupInterval,
		Name:            "httpcache/" + cfg.Name,
		MeterProvider:   noop.NewMeterProvider(), // the middleware reports its own instruments
		OnEvict: func(_ string, e *entry, _ cache.EvictionReason) {
			release(counts, e)
		},
	})
	if err != nil {
		return nil, err
	}
	m.store = store
	reg, err := registerMetrics(cfg.MeterProvider, cfg.Name, m.metrics)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	m.reg = reg
	unregisterWhenCollected(m, reg)
	return m, nil
}

// Close stops background revalidations and the sweeping goroutine, waits
// for them, and unregisters the metrics. Wrapped handlers keep working
// afterwards, without the cache: every request goes to the handler. Close
// is idempotent and returns nil.
func (m *Middleware) Close() error {
	m.mu.Lock()
	if m.closed.Swap(true) {
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	_ = m.store.Close()
	m.pending.Wait()
	_ = otelglobal.Unregister(m.reg)
	return nil
}

// InvalidatePrefix makes every stored response whose path is prefix, or
// under it at a segment boundary ("/v1/orders" covers "/v1/orders/7", not
// "/v1/ordersX"), unusable, including those whose handler call is running.
func (m *Middleware) InvalidatePrefix(prefix string) {
	m.inval.raise(m.inval.prefixSlot(prefix))
	m.metrics.invalidations[invalidationPrefix].Add(1)
}

// InvalidateTags makes every stored response that listed one of tags in
// its Config.TagHeader field unusable, including those whose handler call
// is running.
func (m *Middleware) InvalidateTags(tags ...string) {
	for _, tag := range tags {
		m.inval.raise(m.inval.tagSlot(tag))
		m.metrics.invalidations[invalidationTag].Add(1)
	}
}

// Wrap returns next behind the cache. Several handlers may be wrapped by one
// Middleware when their paths differ: records are keyed by URL.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return &handler{m: m, next: next}
}

type handler struct {
	m    *Middleware
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
	case m.unsafe(r.Method):
		m.serveUnsafe(w, r, h.next)
		return
	default:
		// OPTIONS, TRACE, CONNECT and methods neither RFC 9110 nor the
		// Config names: passed on, invalidating nothing (an unknown
		// method must not let any client empty the cache).
		h.next.ServeHTTP(w, r)
		return
	}
	if r.Header["Range"] != nil || m.closed.Load() {
		m.bypass(w, r, h.next)
		return
	}
	info := m.describe(r)
	if info.tooLarge {
		m.bypass(w, r, h.next)
		return
	}
	now := time.Now()
	variants := m.lookup(variantsKey(&info), true)
	if variants == nil || variants.pass || (info.sharedOnly && !variants.shared) {
		if variants == nil && !info.sharedOnly {
			m.fetchShared(w, r, &info, "", nil, h.next, "fwd=uri-miss")
			return
		}
		// Uncacheable for now, or for this caller unless the answer is
		// shared: no waiting for others; stored if it turns out storable.
		m.fetchDirect(w, r, &info, h.next, "fwd=bypass")
		return
	}
	key, ok := responseKey(&info, r, variants.vary, variants.shared)
	if !ok {
		m.bypass(w, r, h.next)
		return
	}
	e := m.lookup(key, false)
	if e != nil && !e.shared && (info.sharedOnly || e.principal != info.principal) {
		e = nil // cannot happen by the keys' construction; checked anyway, as every stored value is
	}
	if e == nil {
		m.fetchShared(w, r, &info, key, nil, h.next, "fwd=vary-miss")
		return
	}
	age := e.age(now)
	if age < e.fresh {
		m.metrics.results[resultHit].Add(1)
		m.write(w, r, e, now, "hit; ttl="+seconds(e.fresh-age))
		return
	}
	if age < e.fresh+e.swr {
		m.revalidateInBackground(r, info, key, e, h.next)
		m.metrics.results[resultStale].Add(1)
		m.write(w, r, e, now, "hit; ttl="+seconds(e.fresh-age))
		return
	}
	m.fetchShared(w, r, &info, key, e, h.next, "fwd=stale")
}

// isServerError reports the statuses stale-if-error answers instead of
// (RFC 5861 §4: 500, 502, 503 and 504).
func isServerError(status int) bool {
	return status == 500 || status == 502 || status == 503 || status == 504
}

func seconds(d time.Duration) string {
	s := int64(d / time.Second)
	if d < 0 && d%time.Second != 0 {
		s-- // floor: a response stale by 0.5 s has ttl=-1
	}
	return strconv.FormatInt(s, 10)
}

// lookup returns the usable record stored under key: of the kind asked
// for, stored under that key, and not invalidated since.
func (m *Middleware) lookup(key string, variants bool) *entry {
	e, ok := m.store.Get(key)
	if !ok || e == nil || e.key != key || e.variants != variants {
		return nil
	}
	if !variants && !m.inval.valid(e.seq, e.slots) {
		m.store.Delete(key)
		return nil
	}
	return e
}

// bypass passes the request to the handler as if there were no cache.
func (m *Middleware) bypass(w http.ResponseWriter, r *http.Request, next http.Handler) {
	m.metrics.results[resultBypass].Add(1)
	if m.cfg.CacheStatus != "" {
		w.Header()["Cache-Status"] = []string{m.cfg.CacheStatus + "; fwd=bypass"}
	}
	next.ServeHTTP(&tagStripper{ResponseWriter: w, field: m.cfg.TagHeader}, r)
}

// fetchShared answers r with one handler call shared by every request for
// the same key that arrives while it runs. stale, if not nil, is the
// expired response being replaced, served if the call fails and its
// stale-if-error window allows.
func (m *Middleware) fetchShared(w http.ResponseWriter, r *http.Request, info *requestInfo, key string, stale *entry, next http.Handler, fwd string) {
	var after uint64
	if stale != nil {
		after = stale.id
	}
	led := false
	res, err := m.store.GetOrLoad(r.Context(), flightKey(info, key, after), func(ctx context.Context, fk string) (*entry, error) {
		led = true
		defer m.store.Delete(fk) // the load's own result is never stored under the flight key
		res := m.revalidate(r.WithContext(ctx), info, next, stale)
		if stale != nil && res.decision != decisionStored && !isServerError(res.status) {
			// The URL's answer is no longer storable: later requests must
			// not keep finding the expired copy and waiting on each other.
			if cur, ok := m.store.Get(key); ok && cur == stale {
				m.store.Delete(key)
			}
		}
		return res, nil
	})
	if err != nil && r.Context().Err() != nil {
		return // the client went away
	}
	now := time.Now()
	if err != nil || isServerError(res.status) {
		if stale != nil && stale.age(now) < stale.fresh+stale.sie && m.inval.valid(stale.seq, stale.slots) {
			m.metrics.results[resultStale].Add(1)
			m.write(w, r, stale, now, "hit; ttl="+seconds(stale.fresh-stale.age(now))+"; detail=stale-if-error")
			return
		}
	}
	switch {
	case err != nil:
		// The shared call failed (it panicked, timed out, or the cache is
		// closing): this request makes its own, as without a cache.
		m.fetchDirect(w, r, info, next, fwd)
	case led && res.tooLarge:
		m.fetchDirect(w, r, info, next, fwd)
	case led:
		m.metrics.results[resultMiss].Add(1)
		m.answer(w, r, res, now, fwd)
	case m.reusable(res, r, info):
		m.metrics.results[resultCoalesced].Add(1)
		m.write(w, r, res, now, fwd+"; collapsed")
	default:
		// Another request's answer that does not fit this one (private,
		// not stored, varying on a field this request differs in).
		m.fetchDirect(w, r, info, next, fwd)
	}
}

// fetchDirect answers r with a handler call of its own, on r's goroutine;
// a response too large to store streams to the client as it comes.
func (m *Middleware) fetchDirect(w http.ResponseWriter, r *http.Request, info *requestInfo, next http.Handler, fwd string) {
	m.metrics.results[resultMiss].Add(1)
	res := m.call(r, info, next, w)
	if res == nil {
		return // streamed
	}
	m.answer(w, r, res, time.Now(), fwd)
}

// answer writes a handler's response to the request that made the call.
func (m *Middleware) answer(w http.ResponseWriter, r *http.Request, res *entry, now time.Time, fwd string) {
	if res.decision == decisionStored {
		m.write(w, r, res, now, fwd+"; stored")
		return
	}
	h := w.Header()
	if m.cfg.CacheStatus != "" {
		h["Cache-Status"] = []string{m.cfg.CacheStatus + "; " + fwd + "; detail=" + decisionNames[res.decision]}
	}
	if res.status == http.StatusOK && !res.sawConditionals {
		// The handler answered without this request's conditionals (a
		// shared call): answer If-None-Match against its ETag here, as
		// for a stored response, so the client still gets its 304.
		if etag := res.header.Get("Etag"); etag != "" && ifNoneMatch(r.Header.Values("If-None-Match"), etag) {
			for _, name := range notModifiedFields {
				if v := res.header[name]; v != nil {
					h[name] = v
				}
			}
			m.metrics.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	for name, v := range res.header {
		h[name] = v
	}
	if bodyAllowed(res.status) {
		h["Content-Length"] = []string{strconv.Itoa(len(res.body))}
	}
	w.WriteHeader(res.status)
	if r.Method != http.MethodHead && bodyAllowed(res.status) {
		_, _ = w.Write(res.body)
	}
}

// reusable reports whether a response another request's call produced may
// answer r: stored, shared or made for the same principal, and made for the
// same values of the fields it varies on.
func (m *Middleware) reusable(res *entry, r *http.Request, info *requestInfo) bool {
	if res.decision != decisionStored || !m.inval.valid(res.seq, res.slots) {
		// Invalidated after the call stored it: a request that joined the
		// call after InvalidatePrefix or InvalidateTags returned must not
		// get the answer the invalidation was about.
		return false
	}
	if !res.shared && (info.sharedOnly || res.principal != info.principal) {
		return false
	}
	for i, name := range res.vary {
		if varyValue(r, name) != res.varyValues[i] {
			return false
		}
	}
	return true
}

// revalidateInBackground starts one handler call that replaces e, unless
// one is running (stale-while-revalidate).
func (m *Middleware) revalidateInBackground(r *http.Request, info requestInfo, key string, e *entry, next http.Handler) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	m.mu.Lock()
	if m.closed.Load() {
		m.mu.Unlock()
		e.refreshing.Store(false)
		return
	}
	m.pending.Add(1)
	m.mu.Unlock()
	req := r.Clone(context.WithoutCancel(r.Context()))
	go func() {
		defer m.pending.Done()
		res, err := m.store.GetOrLoad(req.Context(), flightKey(&info, key, e.id), func(ctx context.Context, fk string) (*entry, error) {
			defer m.store.Delete(fk)
			return m.revalidate(req.WithContext(ctx), &info, next, e), nil
		})
		if err != nil || res.decision != decisionStored {
			e.refreshing.Store(false) // a later request may try again
		}
	}()
}

// call runs the handler for r and stores its response when it may be.
// client is nil for a call shared by several requests; otherwise a response
// too large to store streams to it, and call returns nil.
func (m *Middleware) call(r *http.Request, info *requestInfo, next http.Handler, client http.ResponseWriter) *entry {
	seq := m.inval.current()
	// Conditionals: a call whose answer is shared (client == nil: the
	// coalesced load, a background revalidation) must get the full
	// response, since other requests and the store use it; it is asked
	// without the conditionals, and answer evaluates If-None-Match itself.
	// A call made for one request alone (client != nil) passes them on, so
	// that a handler doing conditional GET itself (http.ServeContent)
	// answers 304 without producing the body; a 304 is not stored and does
	// not mark the URL uncacheable.
	conditional := client != nil && hasConditionals(r)
	req := originRequest(r, conditional)
	rec := newRecorder(m.cfg.MaxResponseSize, client, []string{m.cfg.TagHeader})
	next.ServeHTTP(rec, req)
	if rec.streamed {
		m.metrics.decisions[decisionTooLarge].Add(1)
		m.markUncacheable(info)
		return nil
	}
	return m.settle(m.evaluate(rec, req, info, seq), req, info, conditional)
}

// settle stores a handler's evaluated response when it may be, counts the
// decision, and marks the URL uncacheable when the response says so.
// conditional: the handler was asked with the request's own conditionals.
func (m *Middleware) settle(res *entry, req *http.Request, info *requestInfo, conditional bool) *entry {
	res.sawConditionals = conditional
	if res.decision == decisionStored {
		m.put(info, req, res)
	}
	m.metrics.decisions[res.decision].Add(1)
	notModified := conditional && (res.status == http.StatusNotModified || res.status == http.StatusPreconditionFailed)
	if res.decision != decisionStored && res.decision != decisionFull && res.decision != decisionInvalidated && !notModified {
		m.markUncacheable(info)
	}
	return res
}

var conditionalFields = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}

func hasConditionals(r *http.Request) bool {
	for _, name := range conditionalFields {
		if r.Header[name] != nil {
			return true
		}
	}
	return false
}

// originRequest is the request the handler sees on a cache's behalf: a GET
// (a HEAD is answered from it), without a body, without Range (never sent
// through the cache), and, unless keepConditionals, without the
// conditional fields, which the cache then answers itself.
func originRequest(r *http.Request, keepConditionals bool) *http.Request {
	req := r.Clone(r.Context())
	req.Method = http.MethodGet
	req.Body = http.NoBody
	req.ContentLength = 0
	req.Header.Del("Range")
	if !keepConditionals {
		for _, name := range conditionalFields {
			req.Header.Del(name)
		}
	}
	return req
}

// markUncacheable records that the URL's responses are not being stored,
// so that its requests stop waiting for one another's calls.
func (m *Middleware) markUncacheable(info *requestInfo) {
	key := variantsKey(info)
	if v := m.lookup(key, true); v != nil && !v.pass {
		// A stored variants record stays: responses for other
		// principals or variants may be cacheable.
		return
	}
	m.putRecord(key, &entry{key: key, variants: true, pass: true, size: int64(len(key)) + 64}, uncacheableFor)
}

// put stores res and the URL's variants record.
func (m *Middleware) put(info *requestInfo, r *http.Request, res *entry) {
	lifetime := res.lifetime()
	key, ok := responseKey(info, r, res.vary, res.shared)
	if !ok {
		res.decision = decisionTooLarge
		return
	}
	if !m.inval.valid(res.seq, res.slots) {
		res.decision = decisionInvalidated
		return
	}
	res.key = key
	res.id = m.ids.Add(1)
	if !m.putRecord(key, res, lifetime) {
		res.decision = decisionFull
		return
	}
	vkey := variantsKey(info)
	m.putRecord(vkey, &entry{key: vkey, variants: true, vary: res.vary, shared: res.shared,
		size: int64(len(vkey)) + 64 + varySize(res.vary)}, lifetime)
}

// putRecord stores e under key for lifetime, keeping the byte count exact:
// a replaced record is released here (the cache reports only records that
// leave, not replaced ones), and a record that does not fit under MaxBytes
// is not stored.
func (m *Middleware) putRecord(key string, e *entry, lifetime time.Duration) bool {
	size := e.size + int64(len(key))
	lock := &m.putLocks[maphash.String(m.putSeed, key)%uint64(len(m.putLocks))]
	lock.Lock()
	defer lock.Unlock()
	old, _ := m.store.Get(key)
	if m.metrics.bytes.Add(size)-sizeOf(old) > m.cfg.MaxBytes {
		m.metrics.bytes.Add(-size)
		return false
	}
	e.charged.Store(size)
	m.metrics.entries.Add(1)
	m.store.SetWithTTL(key, e, lifetime)
	if old != nil {
		release(m.metrics, old)
	}
	return true
}

func sizeOf(e *entry) int64 {
	if e == nil {
		return 0
	}
	return e.charged.Load()
}

// release takes a record's bytes out of the total, once.
func release(c *counters, e *entry) {
	if e == nil {
		return
	}
	if n := e.charged.Swap(0); n > 0 {
		c.bytes.Add(-n)
		c.entries.Add(-1)
	}
}

// unsafe reports whether method is one whose success invalidates: the
// unsafe methods RFC 9110 §9.2.1 defines (POST, PUT, DELETE), PATCH (RFC
// 5789), and Config.UnsafeMethods.
func (m *Middleware) unsafe(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return containsString(m.cfg.UnsafeMethods, method)
}

// invalidateURI makes the stored responses for path (with any query)
// unusable, and nothing under it.
func (m *Middleware) invalidateURI(path string) {
	m.inval.raise(m.inval.uriSlot(path))
	m.metrics.invalidations[invalidationPrefix].Add(1)
}

// serveUnsafe passes an unsafe request (POST, PUT, DELETE, ...) on and,
// when it succeeds, invalidates its URI and the same-origin URIs in its
// Location and Content-Location (RFC 9111 §4.4: those URIs, not what is
// under them), and Config.Invalidates' tags, before the answer reaches the
// client. A handler that writes nothing succeeded with net/http's implicit
// 200: the invalidation then runs when it returns, still before net/http
// sends that answer.
func (m *Middleware) serveUnsafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	sw := &statusWriter{ResponseWriter: w}
	sw.invalidate = func(status int) {
		if status >= 400 {
			return
		}
		m.invalidateURI(r.URL.Path)
		for _, field := range []string{"Location", "Content-Location"} {
			if v := w.Header().Get(field); v != "" {
				if u, err := url.Parse(v); err == nil && (u.Host == "" || u.Host == r.Host) && u.Path != "" {
					m.invalidateURI(u.Path)
				}
			}
		}
		if m.cfg.Invalidates != nil {
			m.InvalidateTags(m.cfg.Invalidates(r)...)
		}
	}
	next.ServeHTTP(sw, r)
	if !sw.wrote {
		sw.wrote = true
		sw.invalidate(http.StatusOK)
	}
}

// tagStripper removes the tag field from a response passed through.
type tagStripper struct {
	http.ResponseWriter
	field string
	wrote bool
}

func (t *tagStripper) WriteHeader(status int) {
	if !t.wrote {
		t.wrote = status >= 200
		delFold(t.ResponseWriter.Header(), t.field)
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *tagStripper) Write(p []byte) (int, error) {
	if !t.wrote {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(p)
}

func (t *tagStripper) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (t *tagStripper) Unwrap() http.ResponseWriter { return t.ResponseWriter }
