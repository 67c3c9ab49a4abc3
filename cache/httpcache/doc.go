// Package httpcache is a server-side HTTP response cache: a middleware that
// stores the answers of GET (and HEAD) handlers and serves them again while
// they are fresh, by the rules of RFC 9111 that apply to a shared cache
// living in the origin's own process.
//
// A request is looked up by its method (HEAD as GET), scheme, host, path,
// query, the request fields the response named in Vary, and the caller's
// principal unless the response was explicitly shared. Concurrent requests
// for the same key wait for one handler call (cache.Cache's GetOrLoad), not
// one each. Responses get a strong ETag when the handler gave none, and a
// request whose If-None-Match matches is answered 304. A change made through
// an unsafe method (POST, PUT, PATCH, DELETE, Config.UnsafeMethods)
// invalidates the request's URI and its same-origin Location and
// Content-Location; the application invalidates wider with InvalidatePrefix,
// InvalidateTags or Config.Invalidates. Invalidated responses are unusable at
// once. Other methods (OPTIONS, TRACE, unknown ones) pass through and
// invalidate nothing.
//
// Response fields are read case-insensitively: a handler that writes the
// header map directly (w.Header()["set-cookie"]) is judged as if it had
// used Set.
//
// Conditional requests: a handler call made for one request alone sees its
// If-None-Match and If-Modified-Since, so a handler doing conditional GET
// itself (http.ServeContent) answers 304; a handler's 304 is passed on and
// not stored. A call shared by several requests, whose response may be
// stored, is made without them, and the cache answers If-None-Match itself
// from the response's ETag.
//
// Revalidation (RFC 9111 §4.3): a stored response that is stale and carries
// a validator of the handler's own (its ETag or Last-Modified; never an
// ETag the cache generated) is not simply fetched again: the one shared
// handler call (or the background call of stale-while-revalidate) is made
// with If-None-Match and If-Modified-Since, and a 304 refreshes the stored
// response: the 304's fields replace the stored ones (not Content-Type,
// Content-Encoding, Content-Range or Content-Length, which describe the
// stored body; a 304 without Date is dated when it came), freshness and
// cacheability are decided anew from the result, the body and tags are
// kept (Stats.Revalidated counts these). A 304 never widens who may see the
// response: one stored per principal (or not shared) that the 304 would
// make shared (public, s-maxage) is fetched again in full instead, as is
// one whose 304 names another ETag or Last-Modified (RFC 9111 §4.3.4: it
// selects no stored response). An ETag the cache generated stays the
// cache's after a refresh and is never sent. To allow it, such a response is
// kept past its freshness for as long again (at most an hour) but is never
// served in that time without the handler's 304.
//
// # Use
//
//	hc, err := httpcache.New(httpcache.Config{
//		Principal: func(r *http.Request) string { return userID(r) }, // "" for anonymous
//	})
//	if err != nil { ... }
//	defer hc.Close()
//	mux.Handle("GET /v1/reports/sales", hc.Wrap(reportHandler)) // reportHandler sets Cache-Control: max-age=30
//	// after a change the report depends on:
//	hc.InvalidateTags("sales-report") // the handler listed it in Surrogate-Key
//
// The handler says what may be cached, with Cache-Control, Vary and the tag
// field, as it would to a CDN: nothing is stored without a freshness
// lifetime (max-age, s-maxage, Expires, or Config.DefaultTTL).
//
// # Who sees a stored response
//
// The principal comes from Config.Principal. A response is served only to
// requests of the same principal unless it says Cache-Control: public or
// s-maxage, which make it shared (served to every caller, anonymous or
// not). With no Principal hook, a request carrying Authorization or Cookie
// is answered only from shared responses, and its own response is stored
// only if shared: RFC 9111 §3.5 for Authorization, and the same for Cookie,
// since a cookie is a credential the cache cannot see into. A response with
// Set-Cookie is never stored, whatever it says. A private response is stored
// only in its principal's partition, and never without a principal. The
// parts of a key are length-prefixed, so no request can make its key equal
// another caller's.
//
// Vary is the handler's duty as with any shared cache: a response that
// depends on a request field (Accept-Language, X-Forwarded-Host, a tenant
// header the principal does not cover) must name it in Vary, or one
// caller's variant is served to another (cache poisoning).
//
// # RFC 9111 behaviour table
//
// TestRFC9111Behaviour has one row per line, in this order.
//
//	section                      behaviour
//	RFC 9111 §3, §4              GET response with max-age is stored; the next request is a hit with Age
//	RFC 9110 §9.3.2              HEAD is answered from the stored GET response, without body
//	RFC 9111 §4.2.1, §5.2.2.1    once max-age has passed, the handler is called again
//	RFC 9111 §5.2.2.10           s-maxage overrides max-age and makes the response shared
//	RFC 9111 §5.3                Expires gives the lifetime when max-age is absent; an invalid Expires is expired
//	RFC 9111 §4.2.2              no explicit lifetime: not stored, unless Config.DefaultTTL and a heuristic status
//	RFC 9111 §5.2.2.5            no-store: never stored
//	RFC 9111 §5.2.2.4            no-cache: not stored (every use would need a handler call)
//	RFC 9111 §5.2.2.7            private: not stored without a principal; stored per principal, never served to another
//	RFC 9111 §5.2.2.9            public: one stored response serves every principal
//	RFC 9111 §3.5                Authorization without a Principal hook: not stored unless public or s-maxage
//	RFC 9111 §3.5 (Keel)         Cookie without a Principal hook: treated as Authorization
//	RFC 9111 §7.3 (Keel)         a response with Set-Cookie is never stored
//	RFC 9111 §4.1                Vary: one stored response per value of the named fields
//	RFC 9111 §4.1                Vary: * is never stored
//	RFC 9111 §3 (Keel)           5xx, 206 and other statuses outside RFC 9110 §15.1's list and 302/307 are not stored
//	RFC 9111 §3.3, §3.4          a Range request bypasses the cache
//	RFC 9111 §4.4                a successful unsafe request invalidates its URI and same-origin Location, not paths under them; a failed one, or an unknown method, does not
//	RFC 9111 §5.2.1 (Keel)       request Cache-Control (no-cache, max-age=0) is ignored: clients cannot force handler calls
//	RFC 5861 §3                  stale-while-revalidate: the stale response is served and one background call replaces it
//	RFC 5861 §4                  stale-if-error: a 5xx from the handler is answered with the stale response
//	RFC 9111 §5.2.2.2            must-revalidate: no stale response is served
//	RFC 9110 §8.8.3, §13.1.2     a strong ETag is generated; If-None-Match (weak comparison, lists, *) gets 304
//	RFC 9111 §4.3.1, §4.3.4      a stale response with the handler's ETag or Last-Modified is revalidated conditionally; a 304 refreshes it, body and tags kept
//	RFC 9111 §4.3.1 (Keel)       an ETag the cache generated is never sent to the handler; a 200 to a revalidation replaces the stored response
//	RFC 9111 §4.3.4 (Keel)       a 304 never widens who may see a stored response: a private one the 304 calls public is fetched in full
//	RFC 9111 §4.3.1 (Keel)       a generated ETag stays the cache's after a 304 refresh: a Last-Modified-only response is still revalidated by date
//	RFC 9111 §4.3.4              a 304 whose ETag or Last-Modified is not the stored response's refreshes nothing: the handler is asked in full
//	RFC 9111 §4.3.4              a 304 without Date is dated now: a stored Expires that has passed is not made fresh again
//	RFC 9111 §3.2                a 304's Content-Type, Content-Encoding, Content-Range and Content-Length never replace the stored ones
//	RFC 9111 §4.2.1              a duplicated or malformed max-age makes the response uncacheable
//	RFC 9211                     Cache-Status says hit, miss (fwd=…) and stored
//
// Rows marked (Keel) are choices of this package where RFC 9111 leaves the
// cache free or speaks of a different kind of cache: a server-side cache
// protects the handler, so clients cannot ask it to go to the handler, and
// it stores less rather than more when a response is ambiguous. It does not
// validate stored responses with the handler (If-None-Match to the
// handler): an expired response is replaced by a full handler call.
//
// # Guarantees
//
//   - Isolation: unless a response is public or has s-maxage, it is served
//     only to requests of the principal it was made for
//     (TestPrivateResponseIsNeverServedToAnotherPrincipal); without a
//     Principal hook, a response to a request with Authorization or Cookie
//     is not stored unless so shared
//     (TestCredentialedRequestsWithoutAHookAreIsolated); a response with
//     Set-Cookie or no-store is never stored. Waiting requests are given
//     another's answer only when it would be served to them from the cache
//     (TestWaitersWithAnotherVariantMakeTheirOwnCall).
//   - Concurrency: requests for one key that miss together cause one
//     handler call (TestConcurrentMissesCallTheHandlerOnce); a URL whose
//     responses are not stored is marked for 30 s so that its requests stop
//     waiting for one another. A shared call runs on its own goroutine, under
//     the first request's context values, bounded by Config.LoadTimeout; a
//     request whose client leaves stops waiting without ending it.
//   - Invalidation: after InvalidatePrefix or InvalidateTags returns, no
//     response they cover is served, including one whose handler call was
//     running when they were called, nor handed to a request that joins a
//     shared call afterwards. An unsafe request that succeeds (a handler
//     that writes nothing succeeds with net/http's implicit 200)
//     invalidates its URI before its answer reaches the client.
//   - Bad input: every request and response field is bounded and parsed
//     without panics (keys over 8 KiB, Cache-Control over 4 KiB or 32
//     directives, more than 16 Vary names, 32 tags or 64 If-None-Match tags
//     are not cached or not matched). Config errors name the field.
//   - Memory: at most Config.Capacity records and Config.MaxBytes bytes of
//     records (body, fields, key, principal, Vary names and values,
//     invalidation slots, plus a fixed overhead each); one response at most Config.MaxResponseSize (a larger one
//     streams to its client, or, when a call was shared, each waiting
//     request calls the handler itself).
//   - Faults: the cache fails open. A handler that panics or times out in a
//     shared call is called again for each waiting request on its own
//     goroutine (a panic then reaches net/http as without the cache); a
//     stale response is served instead when stale-if-error allows.
//   - Close stops background revalidations and the sweeping goroutine and
//     waits for them; wrapped handlers keep answering, without the cache.
//   - Cost: a hit takes two lookups in a cache.Cache (the URL's variants
//     record and the response), one key built from the request, and no
//     handler call; see docs/BENCHMARKS.md.
package httpcache
