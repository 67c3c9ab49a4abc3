// Package gateway is a simulated payment gateway: a downstream HTTP service
// the sales API charges for each order. Its failure rate, latency and outage
// can be changed while it runs, so the example can show what retries and a
// circuit breaker do when a dependency misbehaves.
//
// Like a real gateway (Stripe's, for one) it is idempotent by key: a charge
// request repeated with the same Idempotency-Key returns the first charge and
// never charges twice — also after a restart, when its charges are kept in a
// file (Config.File), as the sales API keeps them (-data/gateway.db). Charge
// ids are random (ch_ and 24 hex digits), so they are unique across restarts
// and across instances. Stats counts what was really charged.
package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Chaos is how the gateway misbehaves.
type Chaos struct {
	// FailureRate is the fraction of charge requests answered 503, in [0,1].
	FailureRate float64 `json:"failure_rate"`
	// Latency is added before every answer.
	Latency time.Duration `json:"latency"`
	// Down makes every charge request fail with 503 until it is cleared.
	Down bool `json:"down"`
}

// Validate reports a Chaos that cannot be applied.
func (c Chaos) Validate() error {
	if c.FailureRate < 0 || c.FailureRate > 1 {
		return fmt.Errorf("gateway: failure_rate must be in [0,1], got %g", c.FailureRate)
	}
	if c.Latency < 0 || c.Latency > time.Minute {
		return fmt.Errorf("gateway: latency must be in [0,1m], got %s", c.Latency)
	}
	return nil
}

// ChargeRequest is the body of POST /charges.
type ChargeRequest struct {
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	Reference   string `json:"reference"`
}

// Charge is the gateway's record of money taken.
type Charge struct {
	ID          string `json:"id"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	Reference   string `json:"reference"`
}

// Gateway is the simulated service. It is safe for concurrent use.
type Gateway struct {
	mu      sync.Mutex
	chaos   Chaos
	charges *chargeStore
	calls   int
	srv     *http.Server
	addr    string
	done    chan struct{}
}

// Config configures a Gateway.
type Config struct {
	// Addr is where it listens (e.g. "127.0.0.1:0").
	Addr string
	// Chaos is how it misbehaves from the start.
	Chaos Chaos
	// File is the SQLite database that keeps its charges (created 0600), so
	// that a restarted gateway still answers a key it charged before with
	// that charge. Empty keeps them in memory until Close (tests, the
	// in-process demo).
	File string
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close, with
// its charges in memory.
func Start(addr string, chaos Chaos) (*Gateway, error) {
	return Open(Config{Addr: addr, Chaos: chaos})
}

// Open opens the gateway's charges (cfg.File), listens on cfg.Addr and
// serves until Close.
func Open(cfg Config) (*Gateway, error) {
	if err := cfg.Chaos.Validate(); err != nil {
		return nil, err
	}
	charges, err := openChargeStore(cfg.File)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = charges.Close()
		return nil, fmt.Errorf("gateway: listen: %w", err)
	}
	g := &Gateway{chaos: cfg.Chaos, charges: charges, addr: ln.Addr().String(), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /charges", g.charge)
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(g.done)
		_ = g.srv.Serve(ln)
	}()
	return g, nil
}

// URL is the gateway's base URL.
func (g *Gateway) URL() string { return "http://" + g.addr }

// SetChaos changes how the gateway misbehaves from the next request on.
func (g *Gateway) SetChaos(c Chaos) error {
	if err := c.Validate(); err != nil {
		return err
	}
	g.mu.Lock()
	g.chaos = c
	g.mu.Unlock()
	return nil
}

// Chaos returns the current settings.
func (g *Gateway) Chaos() Chaos {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.chaos
}

// Stats returns how many charges were really made — every one it keeps,
// those of earlier runs on the same File included — and how many charge
// requests this run received (successful or not).
func (g *Gateway) Stats() (charges, calls int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.charges.Count(), g.calls
}

// Close stops the gateway, waits for its goroutine and closes its charges.
func (g *Gateway) Close() error {
	err := g.srv.Close()
	<-g.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, g.charges.Close())
}

func (g *Gateway) charge(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.calls++
	chaos := g.chaos
	g.mu.Unlock()
	if chaos.Latency > 0 {
		select {
		case <-time.After(chaos.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if chaos.Down || rand.Float64() < chaos.FailureRate {
		if chaos.Down { // an outage announces itself; a random failure does not
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, `{"error":"gateway unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		http.Error(w, `{"error":"Idempotency-Key required"}`, http.StatusBadRequest)
		return
	}
	var req ChargeRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.AmountCents <= 0 || req.Currency == "" {
		http.Error(w, `{"error":"invalid charge"}`, http.StatusBadRequest)
		return
	}
	c, seen, err := g.charges.ChargeOnce(r.Context(), key, Charge{AmountCents: req.AmountCents, Currency: req.Currency, Reference: req.Reference})
	if err != nil {
		// Nothing was charged (or the charge is on disk and a retry with
		// the key returns it): a real gateway's 500.
		http.Error(w, `{"error":"gateway storage failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if seen {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	_ = json.NewEncoder(w).Encode(c)
}
