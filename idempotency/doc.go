// Package idempotency makes retried requests safe: a client that times out
// on POST /orders and retries with the same Idempotency-Key gets the first
// request's response, and the order is created — and the card charged —
// once.
//
// It has three layers:
//
//   - A state machine independent of HTTP ([Manager]): Begin(scope, key,
//     fingerprint) answers proceed (with a [Lease]), replay (the stored
//     [Outcome]), in progress ([ErrInProgress]) or mismatch ([ErrMismatch]);
//     Complete(lease, outcome) stores the result and Release(lease) forgets
//     the attempt. Both are compare-and-set on the lease's token.
//     [Manager.Do] wraps one call in all three for code outside HTTP.
//   - Stores ([Store]): [MemoryStore] for one process; the sqlstore package
//     for PostgreSQL, MySQL/MariaDB and SQLite, with CompleteTx to complete
//     inside the caller's own transaction; the redisstore package. Each
//     passes the conformance suite in package idempotencytest, which you can
//     run on a store of your own.
//   - net/http middleware ([Middleware]) implementing the IETF httpapi draft
//     "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header-07),
//     following Stripe's documented behaviour where the draft is silent.
//
// # Example
//
//	m, _ := idempotency.New(idempotency.Config{Store: store})
//	mw, _ := idempotency.NewMiddleware(idempotency.MiddlewareConfig{
//		Manager:    m,
//		RequireKey: true,
//		// The account that authentication (run before) put in the context.
//		Principal: func(r *http.Request) string { return accountID(r.Context()) },
//	})
//	mux.Handle("POST /orders", authenticate(mw.Wrap(createOrder)))
//
// # Behaviour of the middleware
//
// For a request whose method is in MiddlewareConfig.Methods (default POST and
// PATCH; other methods pass through untouched):
//
//	situation                                   answer                          source of the choice
//	------------------------------------------  ------------------------------  -----------------------------
//	no Idempotency-Key, RequireKey              400 idempotency_key_missing     draft, Error Scenarios
//	no Idempotency-Key, key optional            handler runs, nothing stored    draft (key is per operation)
//	key malformed, empty or > 255 characters    400 idempotency_key_invalid     draft, Syntax; Stripe's 255
//	key, but Principal returned ""              500 idempotency_principal_missing  Keel: no scope, handler
//	                                                                            does not run (see below)
//	body > MaxRequestBody (default 1 MiB)       413 idempotency_request_too_large  Keel: the body is hashed
//	body unreadable or != Content-Length        400 idempotency_body_unreadable    Keel
//	store unreachable                           503 idempotency_store_unavailable  Keel: fail closed, handler
//	                                                                            does not run
//	first use of the key                        handler runs; outcome stored    draft, Enforcement
//	same key, same request, completed           stored status, allow-listed     draft, Enforcement; Stripe
//	                                            headers and body, with
//	                                            Idempotent-Replayed: true
//	same key, same request, still running       409 idempotency_in_progress,   draft, Error Scenarios
//	                                            Retry-After = lease left
//	same key, different request (fingerprint)   422 idempotency_key_mismatch    draft, Error Scenarios; Stripe
//	handler answered 2xx, 3xx or 4xx            stored and replayed             Stripe ("saves results after
//	                                                                            execution begins")
//	handler answered 5xx, 429 or 499            not stored, key released:       Keel, departing from Stripe
//	(499: the client closed the request)        a retry runs again              v1 (which replays 500s):
//	                                                                            a 5xx, 429 or 499 is assumed
//	                                                                            to have no side effect
//	handler panicked                            key released, panic re-raised   Keel: the request never ended
//	response body > MaxStoredBody (1 MiB)       sent in full; stored without    Keel: a replay gives status
//	                                            its body (BodyOmitted)          and headers with an empty
//	                                                                            body, never a truncated one
//	lease expired (crash mid-request)           the next request takes over     draft, Validity and Expiry
//	record older than TTL (default 24 h)        the key is new again            draft, Expiry; Stripe's 24 h
//
// The header is a Structured Field String (`Idempotency-Key: "abc"`); a bare
// value (`Idempotency-Key: abc`, as Stripe's clients send it) is accepted as
// well. See [ParseKey] for the exact grammar. Errors are RFC 9457
// application/problem+json bodies with a stable "code" member (the Code*
// constants); the type is about:blank, or MiddlewareConfig.ProblemType#code
// when a documentation URL is configured. They carry Content-Length,
// Cache-Control: no-store and X-Content-Type-Options: nosniff. A service
// that answers its own problems in another style sets
// MiddlewareConfig.WriteProblem and writes these too (it gets a [Problem]).
//
// The fingerprint defaults to SHA-256 over method, path, query and body; a
// different body under the same key is a mismatch even while the first
// request is still running (mismatch is checked before in-progress). The
// scope is principal + method + route, so one client can never read another
// client's stored result and a key reused on another endpoint is a new key.
// A scope is required: NewMiddleware refuses a configuration without
// MiddlewareConfig.Principal unless MiddlewareConfig.SharedKeySpace says
// explicitly that every caller shares one key space. Principal must name
// the authenticated caller, taken from authentication that runs before the
// middleware (a context value), never from a header the client chooses; a
// request with a key for which it returns "" is answered 500
// idempotency_principal_missing and logged, and its handler does not run,
// rather than falling into one anonymous key space that every such caller
// would share.
//
// Replayed headers are an allow-list ([DefaultReplayHeaders]: Content-Type,
// Location, ETag …). Set-Cookie is never stored.
//
// # Guarantees
//
// Concurrency: Reserve is one atomic operation in every store, so of any
// number of simultaneous requests with one key — on any number of
// instances sharing the store — exactly one proceeds; the others get 409 or
// the replay. Complete and Release are compare-and-set on the holder's
// token and succeed only while its lease is live: a request that stalled
// past its lease cannot overwrite the result of the request that took over,
// and learns so (ErrLeaseLost).
//
// Time: leases and retention are judged by the store's clock (database
// server, Redis), never by the instances', so instances with skewed clocks
// agree. A lease (default 2 minutes) must be longer than any request can
// run; when a request outlives it, its Complete fails with ErrLeaseLost.
//
// Faults: the response is buffered and the record completed before the
// client sees it, so a client that retries at once gets the replay. If the
// store fails at completion the response is still sent; the record stays
// pending until its lease ends (retries get 409), and then the key is free
// again — the one window where an operation can run twice. Close it by
// completing inside the operation's own database transaction
// (sqlstore.Store.CompleteTx with [LeaseFromContext] and [MarkCompleted]):
// the order row and the idempotency record then commit or vanish together.
//
// Status codes: a 5xx, 429 or 499 ([StatusClientClosedRequest]) releases the
// key, so a handler must not answer one after its side effect happened — answer 2xx or 4xx, or complete the
// record itself (MarkCompleted) — or a retry will run the operation again.
//
// Bad input: malformed keys, oversized bodies and invalid scopes are
// answered with an error naming the problem ([ErrInvalidKey]), never a
// panic; the header parser is fuzzed.
//
// Downstream calls: [DerivedKey] gives the payment call inside POST /orders
// an idempotency key of its own, the same on every retry.
//
// Observability: metrics keel.idempotency.begins (by result),
// keel.idempotency.ends and keel.idempotency.store.duration (docs/METRICS.md),
// one span per store operation, and Warn logs for store failures and lost
// leases. Keys, scopes and bodies never appear in metrics, logs or errors.
package idempotency
