package idempotency_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/keel-go/keel/idempotency"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark measures the middleware, not a recorder.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// rewindBody is a request body that can be replayed without allocating.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

var orderJSON = []byte(`{"sku":"keel-pro","quantity":3,"customer":"c_8e03978e","currency":"EUR"}`)

var createdJSON = []byte(`{"id":42,"sku":"keel-pro","quantity":3,"total":"129.00","currency":"EUR"}`)

func createOrderHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Location"] = []string{"/orders/42"}
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(createdJSON)
}

// BenchmarkMiddleware measures the middleware's overhead with the memory
// store: "bare" is the handler alone, "first" a request with a new key
// (reserve, run, complete), "replay" a retry answered from the record.
// Each iteration sets the key header (one string allocation, in all three).
func BenchmarkMiddleware(b *testing.B) {
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	if err != nil {
		b.Fatal(err)
	}
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true})
	if err != nil {
		b.Fatal(err)
	}
	guarded := mw.Wrap(http.HandlerFunc(createOrderHandler))
	bare := http.HandlerFunc(createOrderHandler)

	run := func(b *testing.B, h http.Handler, key func(i int) string) {
		body := &rewindBody{}
		r, err := http.NewRequest(http.MethodPost, "http://api.example.com/orders", body)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		w := &discardWriter{header: make(http.Header)}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			body.Reset(orderJSON)
			r.ContentLength = int64(len(orderJSON))
			r.Header[idempotency.HeaderName] = []string{key(i)}
			clear(w.header)
			w.status = 0
			h.ServeHTTP(w, r)
			if w.status != http.StatusCreated {
				b.Fatalf("status %d", w.status)
			}
			i++
		}
	}
	fresh := func(i int) string { return "first-" + strconv.Itoa(i) }
	b.Run("bare", func(b *testing.B) { run(b, bare, fresh) })
	b.Run("first", func(b *testing.B) {
		// A new store per run keeps -count runs from replaying each other.
		m, _ := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
		mw, _ := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true})
		run(b, mw.Wrap(http.HandlerFunc(createOrderHandler)), fresh)
	})
	b.Run("replay", func(b *testing.B) {
		run(b, guarded, func(int) string { return "replayed-key" })
	})
}

func BenchmarkParseKey(b *testing.B) {
	for _, v := range []string{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324"} {
		name := "bare"
		if v[0] == '"' {
			name = "sf-string"
		}
		b.Run(name, func(b *testing.B) {
			values := []string{v}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := idempotency.ParseKey(values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
