package resilience

import (
	"context"
	"fmt"
	"net/http"
	"reflect"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/retry"
)

const idempotencyHeader = idempotency.HeaderName

// TransportConfig configures a Transport. Every field but Pipeline has a
// documented zero-value default.
type TransportConfig struct {
	// Pipeline runs each request's attempts. Required. Give its breaker
	// BreakerClassifier, so that a hedged keyed request's 409 is not counted.
	Pipeline *Pipeline
	// Base sends each attempt. Default http.DefaultTransport.
	Base http.RoundTripper
	// Classify decides what a response means to the pipeline. Default
	// DefaultClassify.
	Classify func(req *http.Request, resp *http.Response) Class
	// NoKeys stops the transport from adding an Idempotency-Key to requests
	// that have none: a POST or PATCH is then sent once, never retried or
	// hedged, unless the caller gives it a key (header or
	// WithIdempotencyKey). Default false: every POST and PATCH without a key
	// gets a new one, which is right for servers that honour the header
	// (Keel's idempotency middleware, Stripe, Adyen) and harmless for those
	// that ignore it only if their POSTs are idempotent anyway. Set it for a
	// server that ignores the header.
	NoKeys bool
}

// Transport is an http.RoundTripper that sends each request through a
// Pipeline and makes its repetition safe:
//
//   - One key per logical request. A request with an Idempotency-Key header
//     keeps it; otherwise the key of its context (WithIdempotencyKey,
//     WithDerivedKey) is used; otherwise a POST or PATCH gets a new random
//     key (128 bits from crypto/rand). Every retry and hedge of the request
//     carries that same key, so a server that honours it runs the operation
//     once however many attempts reach it.
//   - Only what is safe is repeated. The pipeline's retries and hedges apply
//     to a request whose method is idempotent (GET, HEAD, OPTIONS, TRACE,
//     PUT, DELETE) or that carries a key, and whose body can be sent again
//     (no body, or Request.GetBody, which http.NewRequest sets for
//     bytes.Buffer, bytes.Reader and strings.Reader bodies). Any other
//     request goes through the pipeline's other policies (breaker, timeout,
//     limits) exactly once.
//   - Responses keep HTTP's meaning. A Retryable or Failed response is an
//     error to the pipeline (a *StatusError: the breaker counts it, the retry
//     repeats a Retryable one after its Retry-After), but the last one is
//     returned to the caller as a response, not an error, as a RoundTripper
//     must. A response the pipeline drops has its body closed.
//
// The caller's request is never modified: each attempt sends a clone. A
// Transport is safe for concurrent use.
type Transport struct {
	pipeline *Pipeline
	base     http.RoundTripper
	classify func(*http.Request, *http.Response) Class
	noKeys   bool
}

// NewTransport returns a Transport, or an error naming the invalid field.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if cfg.Pipeline == nil {
		return nil, fmt.Errorf("resilience: TransportConfig.Pipeline is required")
	}
	if rv := reflect.ValueOf(cfg.Base); cfg.Base != nil && rv.Kind() == reflect.Pointer && rv.IsNil() {
		// A typed nil (a nil *http.Transport in an interface) is not nil to
		// the == test below, and would panic on the first request.
		return nil, fmt.Errorf("resilience: TransportConfig.Base is a nil %T", cfg.Base)
	}
	t := &Transport{pipeline: cfg.Pipeline, base: cfg.Base, classify: cfg.Classify, noKeys: cfg.NoKeys}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if t.classify == nil {
		t.classify = DefaultClassify
	}
	return t, nil
}

// RoundTrip sends req through the pipeline.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	template, err := t.keyed(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	repeatable := replayable && (idempotentMethod(req.Method) || template.Header.Get(idempotencyHeader) != "")

	var sent bool // whether req.Body went to the base transport, which then closes it
	attempt := func(ctx context.Context) (*http.Response, error) {
		r := template.Clone(ctx)
		if repeatable && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, retry.Permanent(fmt.Errorf("resilience: Request.GetBody: %w", err))
			}
			r.Body = body
		} else if !repeatable {
			sent = true // the one attempt of a request that is not repeated gets req.Body itself
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		switch t.classify(r, resp) {
		case Retryable:
			return resp, &StatusError{Response: resp, keyed: r.Header.Get(idempotencyHeader) != ""}
		case Failed:
			return resp, retry.Permanent(&StatusError{Response: resp})
		}
		return resp, nil
	}
	resp, err := call[*http.Response](req.Context(), t.pipeline.layers, !repeatable, valueFunc[*http.Response](attempt))
	if !sent || repeatable {
		closeBody(req) // never handed to the base transport: a RoundTripper must close it
	}
	if err == nil {
		return resp, nil
	}
	if resp != nil && lastResponse(err, resp) && req.Context().Err() == nil {
		return resp, nil // a failure status is still the server's answer
	}
	// Otherwise the pipeline ended on something else than the server's
	// answer: the caller's context (a retry it interrupted returns the
	// response it had already drained and closed before its wait), a timeout,
	// an open breaker. The error is the answer; the response is released.
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	return nil, err
}

// keyed returns the request every attempt clones: req itself, or a shallow
// copy with the Idempotency-Key it must carry.
func (t *Transport) keyed(req *http.Request) (*http.Request, error) {
	if req.Header.Get(idempotencyHeader) != "" {
		return req, nil // the caller's own key
	}
	key, fromContext := keyFromContext(req.Context())
	if fromContext {
		if _, _, err := idempotency.ParseKey([]string{key}); err != nil {
			return nil, fmt.Errorf("resilience: the context's idempotency key: %w", err)
		}
	} else if t.noKeys || (req.Method != http.MethodPost && req.Method != http.MethodPatch) {
		return req, nil
	} else {
		key = newKey()
	}
	r := *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set(idempotencyHeader, key)
	return &r, nil
}

// idempotentMethod reports whether RFC 9110 defines method as idempotent.
func idempotentMethod(method string) bool {
	switch method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// lastResponse reports whether err carries a *StatusError for resp itself:
// the pipeline ended on that response (a retry gave up on it, say).
func lastResponse(err error, resp *http.Response) bool {
	if se, ok := err.(*StatusError); ok && se.Response == resp {
		return true
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if lastResponse(inner, resp) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return lastResponse(e.Unwrap(), resp)
	}
	return false
}

func closeBody(req *http.Request) {
	if req.Body != nil && req.Body != http.NoBody {
		_ = req.Body.Close()
	}
}

// CloseIdleConnections closes the base transport's idle connections, when it
// can (http.Client.CloseIdleConnections calls this).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
