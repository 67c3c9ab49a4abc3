package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Defaults for MiddlewareConfig.
const (
	DefaultMaxRequestBody = 1 << 20
	DefaultMaxStoredBody  = 1 << 20
	// releaseTimeout bounds the Complete or Release that follows a request,
	// which runs even when the client has gone away.
	releaseTimeout = 10 * time.Second
)

// DefaultReplayHeaders are the response headers stored and replayed when
// MiddlewareConfig.ReplayHeaders is nil. Set-Cookie is never stored,
// whatever the configuration: a replay must not hand one client's session
// to another request.
var DefaultReplayHeaders = []string{
	"Content-Type", "Content-Language", "Content-Location", "Location",
	"ETag", "Last-Modified", "Link", "Preference-Applied",
}

// MiddlewareConfig configures NewMiddleware. Every field but Manager has a
// documented zero-value default.
type MiddlewareConfig struct {
	// Manager runs the state machine. Required.
	Manager *Manager
	// RequireKey answers 400 (code idempotency_key_missing) to a request of
	// one of Methods without an Idempotency-Key. Default false: such a
	// request runs without idempotency.
	RequireKey bool
	// Methods are the request methods the middleware applies to; others pass
	// straight through. Default POST and PATCH (the draft's non-idempotent
	// methods).
	Methods []string
	// Principal names the caller (tenant, account or API key id) so that one
	// client can never read another's stored result. It is part of the
	// scope. Required unless SharedKeySpace is set: without it a second
	// caller who sends the first caller's key receives the first caller's
	// response. Take it from authentication (an account id that an
	// authentication middleware running before this one put in the
	// request's context), never from anything the client chooses, such as
	// a header naming an account. A request with a key for which it returns
	// "" is answered 500 (code idempotency_principal_missing, logged by the
	// Manager) and its handler does not run: an unauthenticated request
	// should not reach the middleware, and a shared anonymous key space
	// would replay one caller's response to another.
	Principal func(r *http.Request) string
	// SharedKeySpace says explicitly that every caller shares one key space
	// (no Principal): a key sent by one client replays to any other that
	// sends it. Only safe when keys are unguessable and every client is
	// equally trusted (a single internal caller). NewMiddleware refuses a
	// configuration with neither Principal nor SharedKeySpace, and one with
	// both.
	SharedKeySpace bool
	// Route names the operation. Default r.Pattern (the http.ServeMux
	// pattern that matched), or the URL path when there is none.
	Route func(r *http.Request) string
	// Fingerprint identifies the request's content; a reuse of a key with
	// another fingerprint is answered 422. Default: SHA-256 over method,
	// path, query and body. At most MaxFingerprintLength bytes.
	Fingerprint func(r *http.Request, body []byte) []byte
	// MaxRequestBody bounds the body read for the fingerprint; a larger one
	// is answered 413 (code idempotency_request_too_large). Default
	// DefaultMaxRequestBody.
	MaxRequestBody int64
	// MaxStoredBody bounds the response body that is stored. A larger body
	// is sent to the client as it is written, and the record stores the
	// status and headers with BodyOmitted set: a replay then answers the
	// same status and headers with an empty body, never a truncated one.
	// Default DefaultMaxStoredBody.
	MaxStoredBody int
	// ReplayHeaders is the allow-list of response headers stored and
	// replayed. Default DefaultReplayHeaders. Set-Cookie is always dropped.
	ReplayHeaders []string
	// ProblemType, when set, is a documentation URL: problem bodies then have
	// type ProblemType#code instead of about:blank.
	ProblemType string
	// WriteProblem, when set, answers every refusal of the middleware
	// instead of its own writer, so that a service gives all its problems
	// one style (type URIs, headers). Headers the refusal needs, such as
	// Retry-After, are set before it is called; it must write the status.
	// Default: an application/problem+json body with Content-Length,
	// Cache-Control: no-store and X-Content-Type-Options: nosniff.
	WriteProblem func(w http.ResponseWriter, r *http.Request, p Problem)
}

// Middleware is net/http middleware implementing the Idempotency-Key header.
// See the package documentation for the behaviour table.
type Middleware struct {
	m             *Manager
	requireKey    bool
	methods       []string
	principal     func(*http.Request) string
	route         func(*http.Request) string
	fingerprint   func(*http.Request, []byte) []byte
	maxRequest    int64
	maxStored     int
	replayHeaders []string
	problemType   string
	writeProblem  func(http.ResponseWriter, *http.Request, Problem)
}

// NewMiddleware validates cfg and returns the middleware.
func NewMiddleware(cfg MiddlewareConfig) (*Middleware, error) {
	if cfg.Manager == nil {
		return nil, errors.New("idempotency: MiddlewareConfig.Manager is required")
	}
	if cfg.Principal == nil && !cfg.SharedKeySpace {
		return nil, errors.New("idempotency: MiddlewareConfig.Principal is required (it scopes keys to their caller); " +
			"set MiddlewareConfig.SharedKeySpace to let every caller share one key space")
	}
	if cfg.Principal != nil && cfg.SharedKeySpace {
		return nil, errors.New("idempotency: MiddlewareConfig.Principal and SharedKeySpace exclude each other: set one")
	}
	if cfg.MaxRequestBody < 0 {
		return nil, fmt.Errorf("idempotency: MiddlewareConfig.MaxRequestBody must not be negative, got %d", cfg.MaxRequestBody)
	}
	if cfg.MaxStoredBody < 0 {
		return nil, fmt.Errorf("idempotency: MiddlewareConfig.MaxStoredBody must not be negative, got %d", cfg.MaxStoredBody)
	}
	mw := &Middleware{
		m:            cfg.Manager,
		requireKey:   cfg.RequireKey,
		methods:      cfg.Methods,
		principal:    cfg.Principal,
		route:        cfg.Route,
		fingerprint:  cfg.Fingerprint,
		maxRequest:   cfg.MaxRequestBody,
		maxStored:    cfg.MaxStoredBody,
		problemType:  cfg.ProblemType,
		writeProblem: cfg.WriteProblem,
	}
	if mw.methods == nil {
		mw.methods = []string{http.MethodPost, http.MethodPatch}
	}
	if mw.route == nil {
		mw.route = defaultRoute
	}
	if mw.fingerprint == nil {
		mw.fingerprint = defaultFingerprint
	}
	if mw.maxRequest == 0 {
		mw.maxRequest = DefaultMaxRequestBody
	}
	if mw.maxStored == 0 {
		mw.maxStored = DefaultMaxStoredBody
	}
	headers := cfg.ReplayHeaders
	if headers == nil {
		headers = DefaultReplayHeaders
	}
	for _, h := range headers {
		h = http.CanonicalHeaderKey(h)
		if h == "Set-Cookie" || h == "Set-Cookie2" || h == "" {
			continue
		}
		mw.replayHeaders = append(mw.replayHeaders, h)
	}
	return mw, nil
}

// Wrap returns next guarded by the middleware.
func (mw *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.serve(w, r, next)
	})
}

func (mw *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !slices.Contains(mw.methods, r.Method) {
		next.ServeHTTP(w, r)
		return
	}
	key, present, err := KeyFromRequest(r)
	switch {
	case err != nil:
		mw.problem(w, r, http.StatusBadRequest, CodeKeyInvalid, err.Error())
		return
	case !present && mw.requireKey:
		mw.problem(w, r, http.StatusBadRequest, CodeKeyMissing,
			"this operation requires an "+HeaderName+" header")
		return
	case !present:
		next.ServeHTTP(w, r)
		return
	}
	principal := ""
	if mw.principal != nil {
		if principal = mw.principal(r); principal == "" {
			mw.m.log(r.Context(), "idempotency: MiddlewareConfig.Principal returned an empty principal for a request with a key; answered 500 without running the handler",
				errors.New("no authenticated caller: the principal must come from authentication, which must run before the middleware"))
			mw.problem(w, r, http.StatusInternalServerError, CodePrincipalMissing,
				"the server could not tell which caller this request belongs to, so its "+HeaderName+" cannot be honoured")
			return
		}
	}

	body, err := readBody(r, mw.maxRequest)
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			mw.problem(w, r, http.StatusRequestEntityTooLarge, CodeRequestTooLarge,
				fmt.Sprintf("request bodies of idempotent requests are limited to %d bytes", mw.maxRequest))
			return
		}
		mw.problem(w, r, http.StatusBadRequest, CodeBodyUnreadable,
			"the request body could not be read in full (it must match its Content-Length)")
		return
	}

	begun, err := mw.m.Begin(r.Context(), mw.scope(r, principal), key, mw.fingerprint(r, body))
	if err != nil {
		mw.writeBeginError(w, r, err)
		return
	}
	if begun.Replayed {
		if st := begun.Outcome.Status; st < 200 || st > 999 {
			// Only a store written by other code can hold this; never
			// hand it to WriteHeader, which panics on it.
			mw.problem(w, r, http.StatusServiceUnavailable, CodeStoreUnavailable,
				"the stored response for this "+HeaderName+" is invalid")
			return
		}
		writeReplay(w, begun.Outcome)
		return
	}

	state := &requestState{lease: begun.Lease}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, state))
	r.Body = &replayBody{Reader: bytes.NewReader(body)}
	cw := &captureWriter{ResponseWriter: w, limit: mw.maxStored}
	mw.run(cw, r, next, state)
}

// run calls next and then completes or releases the key. A panic releases
// the key (the request did not finish, a retry must be able to run) and is
// re-raised for the server to handle.
func (mw *Middleware) run(cw *captureWriter, r *http.Request, next http.Handler, state *requestState) {
	finished := false
	defer func() {
		if finished {
			return
		}
		if !state.completed.Load() {
			mw.release(r.Context(), state.lease)
		}
	}()
	next.ServeHTTP(cw, r)
	finished = true

	status := cw.statusOrOK()
	switch {
	case state.completed.Load():
		// The handler completed the record in its own transaction.
	case status >= 500 || status == http.StatusTooManyRequests || status == StatusClientClosedRequest:
		mw.release(r.Context(), state.lease)
	default:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
		// A failure is logged by the Manager; the response is still sent: the
		// side effect happened, and the pending record makes retries wait
		// (409) until its lease ends.
		_ = mw.m.Complete(ctx, state.lease, mw.outcome(cw, status))
		cancel()
	}
	cw.flush()
}

func (mw *Middleware) release(ctx context.Context, lease Lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_ = mw.m.Release(ctx, lease) // logged by the Manager; the lease ends on its own
}

func (mw *Middleware) outcome(cw *captureWriter, status int) Outcome {
	out := Outcome{Status: status, BodyOmitted: cw.streaming}
	h := cw.Header()
	for _, name := range mw.replayHeaders {
		if vs, ok := h[name]; ok {
			if out.Header == nil {
				out.Header = make(http.Header, len(mw.replayHeaders))
			}
			out.Header[name] = slices.Clone(vs)
		}
	}
	if !cw.streaming {
		out.Body = cw.buf.Bytes()
	}
	return out
}

func (mw *Middleware) writeBeginError(w http.ResponseWriter, r *http.Request, err error) {
	var busy *InProgressError
	switch {
	case errors.As(err, &busy):
		secs := int64((busy.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		mw.problem(w, r, http.StatusConflict, CodeInProgress,
			"a request with this "+HeaderName+" is still being processed; retry later")
	case errors.Is(err, ErrMismatch):
		mw.problem(w, r, http.StatusUnprocessableEntity, CodeKeyMismatch,
			"this "+HeaderName+" was already used for a different request")
	case errors.Is(err, ErrInvalidKey):
		mw.problem(w, r, http.StatusBadRequest, CodeKeyInvalid, err.Error())
	default:
		// Fail closed: without the store there is no guarantee, so the
		// handler does not run. The store is usually back within seconds
		// (a reconnect, a failover).
		w.Header().Set("Retry-After", "1")
		mw.problem(w, r, http.StatusServiceUnavailable, CodeStoreUnavailable,
			"idempotency records are unavailable; retry later with the same key")
	}
}

// writeReplay answers with a stored outcome. out is the store's copy, owned
// by this request, so its header values are used as they are.
func writeReplay(w http.ResponseWriter, out Outcome) {
	h := w.Header()
	for name, vs := range out.Header {
		h[name] = vs
	}
	h.Set(ReplayedHeader, "true")
	if out.BodyOmitted {
		h.Del("Content-Type")
		h.Set("Content-Length", "0")
	} else {
		h.Set("Content-Length", strconv.Itoa(len(out.Body)))
	}
	w.WriteHeader(out.Status)
	if !out.BodyOmitted {
		_, _ = w.Write(out.Body)
	}
}

// scope is principal, method and route, unambiguous (the principal is
// quoted), hashed when too long for a store.
func (mw *Middleware) scope(r *http.Request, principal string) string {
	s := strconv.Quote(principal) + " " + r.Method + " " + mw.route(r)
	if len(s) > MaxScopeLength {
		sum := sha256.Sum256([]byte(s))
		s = "sha256:" + hex.EncodeToString(sum[:])
	}
	return s
}

func defaultRoute(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.URL.Path
}

// defaultFingerprint hashes method, path, query and body, each
// length-prefixed so that no two requests share an encoding.
func defaultFingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery} {
		var n [8]byte
		putLen(n[:], len(part))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var n [8]byte
	putLen(n[:], len(body))
	h.Write(n[:])
	h.Write(body)
	return h.Sum(nil)
}

func putLen(b []byte, n int) {
	for i := range 8 {
		b[7-i] = byte(n >> (8 * i))
	}
}

var errBodyTooLarge = errors.New("idempotency: request body too large")

// readBody reads the whole request body, up to limit bytes, in one
// allocation when the length is declared.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	if r.ContentLength < 0 { // chunked: length unknown
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(body)) > limit {
			return nil, errBodyTooLarge
		}
		return body, nil
	}
	// One byte more than declared, to check that the body ends there.
	buf := make([]byte, r.ContentLength+1)
	n, err := io.ReadFull(r.Body, buf)
	switch {
	case err == nil:
		return nil, errors.New("idempotency: request body longer than its Content-Length")
	case int64(n) != r.ContentLength:
		return nil, fmt.Errorf("idempotency: request body ended after %d of %d bytes: %w", n, r.ContentLength, err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return buf[:n], nil
	default:
		return nil, err
	}
}

// replayBody hands the handler the body the middleware read.
type replayBody struct{ *bytes.Reader }

func (*replayBody) Close() error { return nil }

// stateKey is the context key of the *requestState of a proceeding request.
type stateKey struct{}

type requestState struct {
	lease     Lease
	completed atomic.Bool
}

// LeaseFromContext returns the lease a handler behind the middleware runs
// under, for completing the record in the handler's own database
// transaction (sqlstore's CompleteTx). ok is false outside the middleware
// or when the request carried no key.
func LeaseFromContext(ctx context.Context) (lease Lease, ok bool) {
	st, ok := ctx.Value(stateKey{}).(*requestState)
	if !ok {
		return Lease{}, false
	}
	return st.lease, true
}

// MarkCompleted tells the middleware that the handler completed the record
// itself (with CompleteTx, in the same transaction as its side effect), so
// the middleware neither completes nor releases it, whatever the status.
// It reports whether ctx came from the middleware.
func MarkCompleted(ctx context.Context) bool {
	st, ok := ctx.Value(stateKey{}).(*requestState)
	if ok {
		st.completed.Store(true)
	}
	return ok
}
