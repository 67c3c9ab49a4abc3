package breaker

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// TransportConfig configures a Transport.
type TransportConfig struct {
	// Base makes the requests. Default http.DefaultTransport.
	Base http.RoundTripper
	// Breaker is the template for every host's breaker. Its Name becomes
	// Name + "/" + host (Name defaults to "http"), so the metrics carry one
	// series per host: use a Transport for a bounded set of hosts.
	Breaker Config
	// IsFailure reports whether a response counts as a failure of the host.
	// Default: status 500 and above, and 429. The response is returned to the
	// caller either way.
	IsFailure func(*http.Response) bool
}

// Transport is an http.RoundTripper that keeps one Breaker per host
// (req.URL.Host, port included), created on first use. A rejected request
// returns an *OpenError (http.Client wraps it in a *url.Error; errors.Is and
// errors.As see through it). A call's outcome is counted when the response
// headers arrive, so slow-call detection measures the time to the headers,
// not the body. It is safe for concurrent use.
type Transport struct {
	base      http.RoundTripper
	template  Config
	prefix    string
	isFailure func(*http.Response) bool

	mu       sync.Mutex
	breakers map[string]*Breaker
}

// NewTransport returns a Transport, or an error naming an invalid field of
// cfg.Breaker.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if _, err := cfg.Breaker.withDefaults(); err != nil {
		return nil, fmt.Errorf("%w (in TransportConfig.Breaker)", err)
	}
	t := &Transport{
		base:      cfg.Base,
		template:  cfg.Breaker,
		prefix:    cfg.Breaker.Name,
		isFailure: cfg.IsFailure,
		breakers:  map[string]*Breaker{},
	}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if t.prefix == "" {
		t.prefix = "http"
	}
	if t.isFailure == nil {
		t.isFailure = func(r *http.Response) bool {
			return r.StatusCode >= 500 || r.StatusCode == http.StatusTooManyRequests
		}
	}
	return t, nil
}

// Breaker returns the breaker for host (as in req.URL.Host), creating it if
// needed, so that operators can inspect or force it.
func (t *Transport) Breaker(host string) (*Breaker, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.breakers[host]; ok {
		return b, nil
	}
	cfg := t.template
	cfg.Name = t.prefix + "/" + host
	b, err := New(cfg)
	if err != nil {
		return nil, err
	}
	t.breakers[host] = b
	return b, nil
}

// RoundTrip sends req through its host's breaker.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	b, err := t.Breaker(req.URL.Host)
	if err != nil {
		return nil, err
	}
	p, err := b.allow()
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	switch {
	case err != nil:
		b.done(p, err)
	case t.isFailure(resp):
		b.done(p, errFailureStatus)
	default:
		b.done(p, nil)
	}
	return resp, err
}

// errFailureStatus is the outcome recorded for a response IsFailure rejected.
var errFailureStatus = errors.New("breaker: response counted as a failure")

// CloseIdleConnections closes the base transport's idle connections, when it
// can (http.Client.CloseIdleConnections calls this).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
