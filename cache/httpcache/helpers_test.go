package httpcache

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric/noop"
)

// origin is a handler that counts its calls.
type origin struct {
	calls atomic.Int64
	fn    http.HandlerFunc
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	o.fn(w, r)
}

type fixture struct {
	m *Middleware
	o *origin
	h http.Handler
}

// newFixture builds a middleware around fn; it is closed when the test ends.
func newFixture(t *testing.T, cfg Config, fn http.HandlerFunc) *fixture {
	t.Helper()
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = noop.NewMeterProvider()
	}
	m, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	o := &origin{fn: fn}
	return &fixture{m: m, o: o, h: m.Wrap(o)}
}

// do sends a request; headers are name, value pairs.
func (f *fixture) do(method, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// as sends a GET as principal p (read by principalHeader).
func (f *fixture) as(p, target string, headers ...string) *httptest.ResponseRecorder {
	return f.do(http.MethodGet, target, append([]string{"X-Test-Principal", p}, headers...)...)
}

// byHeader is a Principal hook for tests: the X-Test-Principal field.
func byHeader(r *http.Request) string { return r.Header.Get("X-Test-Principal") }

// reply returns a handler that sets cache-control (when not empty) and
// answers status with body.
func reply(status int, cacheControl, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}
