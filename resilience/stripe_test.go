package resilience_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// fault is what the Stripe-like server does to one request.
type fault int

const (
	serve       fault = iota
	unavailable       // 503 before doing anything
	dropAfter         // do the work, then drop the connection: the answer is lost
	internal          // 500 before doing anything
)

// stripeLike is a payment API with Stripe's idempotency semantics: the
// first request with a key runs and its answer is stored; a later request
// with the key gets the stored answer (Idempotent-Replayed: true), or 409
// while the first still runs, or 400 if its parameters differ. Requests
// without a key run every time.
type stripeLike struct {
	t        *testing.T
	requests atomic.Int64
	charges  atomic.Int64
	fault    func(n int64) fault
	// hold, when set, runs before a request with a key does its work.
	hold func(n int64, r *http.Request)

	mu      sync.Mutex
	records map[string]*record
	keys    []string // the Idempotency-Key of each request, in arrival order
}

type record struct {
	params []byte
	done   bool
	body   string
}

func newStripeLike(t *testing.T) (*stripeLike, *httptest.Server) {
	s := &stripeLike{t: t, records: map[string]*record{}, fault: func(int64) fault { return serve }}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *stripeLike) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	params, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.mu.Unlock()
	if r.Method == http.MethodGet {
		s.answerGet(w, r, n)
		return
	}
	switch s.fault(n) {
	case unavailable:
		w.Header().Set("Retry-After", "0")
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	case internal:
		http.Error(w, "bug", http.StatusInternalServerError)
		return
	}
	var rec *record
	if key != "" {
		s.mu.Lock()
		rec = s.records[key]
		switch {
		case rec != nil && !bytes.Equal(rec.params, params):
			s.mu.Unlock()
			http.Error(w, `{"error":{"type":"idempotency_error"}}`, http.StatusBadRequest)
			return
		case rec != nil && !rec.done:
			s.mu.Unlock()
			http.Error(w, `{"error":{"type":"idempotency_error","message":"in progress"}}`, http.StatusConflict)
			return
		case rec != nil:
			s.mu.Unlock()
			w.Header().Set("Idempotent-Replayed", "true")
			fmt.Fprint(w, rec.body)
			return
		}
		rec = &record{params: params}
		s.records[key] = rec
		s.mu.Unlock()
		if s.hold != nil {
			s.hold(n, r)
		}
	}
	body := fmt.Sprintf(`{"id":"ch_%d","params":%s}`, s.charges.Add(1), params)
	if rec != nil {
		s.mu.Lock()
		rec.done, rec.body = true, body
		s.mu.Unlock()
	}
	if s.fault(n) == dropAfter {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close() // the charge is made; its answer never leaves
		}
		return
	}
	fmt.Fprint(w, body)
}

// answerGet serves GET /charges/x, for requests idempotent by method.
func (s *stripeLike) answerGet(w http.ResponseWriter, r *http.Request, n int64) {
	if s.fault(n) == unavailable {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if s.hold != nil {
		s.hold(n, r)
	}
	fmt.Fprintf(w, `{"request":%d}`, n)
}

func (s *stripeLike) seenKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}
