package httpcachebench

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gjhttpcache "github.com/gregjones/httpcache"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/keel-go/keel/cache/httpcache"
)

// discard is a ResponseWriter that keeps nothing, reused across iterations
// so that the benchmark measures the handler, not a recorder.
type discard struct {
	h    http.Header
	code int
	n    int
}

func (d *discard) Header() http.Header  { return d.h }
func (d *discard) WriteHeader(code int) { d.code = code }
func (d *discard) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	d.n += len(p)
	return len(p), nil
}
func (d *discard) reset() { clear(d.h); d.code, d.n = 0, 0 }

// report is a sales report like the example's: 30 rows encoded as JSON on
// every call, the work a cache hit saves.
type row struct {
	Day     string  `json:"day"`
	Orders  int     `json:"orders"`
	Revenue float64 `json:"revenue"`
}

func reportHandler() http.Handler {
	rows := make([]row, 30)
	for i := range rows {
		rows[i] = row{Day: time.Date(2026, 11, i+1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Orders: 10 + i, Revenue: 1234.5 * float64(i)}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=3600")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"from": "2026-11-01", "to": "2026-12-01", "sales": rows})
	})
}

// prebuilt writes the report's bytes, encoded once: what a hit must at
// least do.
func prebuilt() http.Handler {
	rec := httptest.NewRecorder()
	reportHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Cache-Control"] = []string{"private, max-age=3600"}
		h["Content-Type"] = []string{"application/json"}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

func keel(b *testing.B) http.Handler {
	m, err := httpcache.New(httpcache.Config{
		Principal:     func(r *http.Request) string { return r.Header.Get("X-User") },
		MeterProvider: noop.NewMeterProvider(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m.Wrap(reportHandler())
}

// handlerTransport answers a client-side cache's requests by calling the
// handler in the process, so that gregjones/httpcache (an RFC 7234 cache
// built as an http.RoundTripper) can stand in front of the same handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	res := rec.Result()
	if res.Header.Get("Date") == "" {
		// net/http's server adds Date on the wire; the recorder does not,
		// and without it gregjones/httpcache counts every stored response
		// stale and calls the handler again.
		res.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	return res, nil
}

// gregjones fronts the handler with gregjones/httpcache's memory cache:
// each request goes through its Transport and the answer is copied to the
// ResponseWriter. It is a private (client) cache keyed by URL alone, so it
// would serve one principal's private report to another: measured for
// its cost only, not usable server-side for per-principal responses.
func gregjones(*testing.B) http.Handler { return gregjonesOver(reportHandler()) }

func gregjonesOver(origin http.Handler) http.Handler {
	t := gjhttpcache.NewMemoryCacheTransport()
	t.Transport = handlerTransport{origin}
	t.MarkCachedResponses = false
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := t.RoundTrip(r)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		h := w.Header()
		for name, v := range resp.Header {
			h[name] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
}

var contenders = []struct {
	name string
	make func(b *testing.B) http.Handler
}{
	{"keel-httpcache", keel},
	{"gregjones-httpcache", gregjones},
	{"handler", func(*testing.B) http.Handler { return reportHandler() }},
	{"prebuilt-bytes", func(*testing.B) http.Handler { return prebuilt() }},
}

func request() *http.Request {
	r := httptest.NewRequest("GET", "/v1/reports/sales?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z", nil)
	r.Header.Set("X-User", "sales:7")
	return r
}

// reportCPU adds the process CPU time per operation beside wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkGet: one goroutine, the same GET again and again (a hit for the
// cache).
func BenchmarkGet(b *testing.B) {
	serial(b, func(*http.Request, *discard) {})
}

// serial runs each contender from one goroutine, after one warming request
// and prepare (which may add fields to the request from its answer).
func serial(b *testing.B, prepare func(r *http.Request, first *discard)) {
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			h := c.make(b)
			r := request()
			w := &discard{h: make(http.Header)}
			h.ServeHTTP(w, r)
			prepare(r, w)
			b.ReportAllocs()
			b.ResetTimer()
			start := processCPU()
			for range b.N {
				w.reset()
				h.ServeHTTP(w, r)
			}
			reportCPU(b, start)
			if w.code != http.StatusOK && w.code != http.StatusNotModified {
				b.Fatalf("answered %d", w.code)
			}
		})
	}
}

// BenchmarkGetParallel: GOMAXPROCS goroutines, 16 principals.
func BenchmarkGetParallel(b *testing.B) {
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			h := c.make(b)
			b.ReportAllocs()
			b.ResetTimer()
			start := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				r := request()
				w := &discard{h: make(http.Header)}
				i := 0
				for pb.Next() {
					i++
					r.Header.Set("X-User", "sales:"+string(rune('a'+i%16)))
					w.reset()
					h.ServeHTTP(w, r)
					if w.code != http.StatusOK {
						b.Errorf("answered %d", w.code)
						return
					}
				}
			})
			reportCPU(b, start)
		})
	}
}

// BenchmarkNotModified: a client revalidating with If-None-Match. Only the
// cache answers 304; the others send the body again.
func BenchmarkNotModified(b *testing.B) {
	serial(b, func(r *http.Request, first *discard) {
		if etag := first.h.Get("ETag"); etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
	})
}

// The peer is measured on hits: after the first request, gregjones/httpcache
// answers from its store without calling the handler.
func TestGregjonesAnswersFromItsCache(t *testing.T) {
	calls := 0
	report := reportHandler()
	h := gregjonesOver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		report.ServeHTTP(w, r)
	}))
	for range 3 {
		w := &discard{h: make(http.Header)}
		h.ServeHTTP(w, request())
		if w.code != http.StatusOK || w.n == 0 {
			t.Fatalf("answered %d with %d bytes", w.code, w.n)
		}
	}
	if calls != 1 {
		t.Fatalf("the handler was called %d times for 3 requests, want 1", calls)
	}
}
