package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/keel-go/keel/metrics/internal/httproute"
)

// ScopeName is the instrumentation scope of the instruments this package
// creates.
const ScopeName = "github.com/keel-go/keel/metrics"

// durationBuckets are the bucket boundaries, in seconds, that the stable
// HTTP semantic conventions advise for http.server.request.duration.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// DurationBuckets returns the bucket boundaries, in seconds, that the stable
// HTTP semantic conventions advise for http.server.request.duration and
// that the middleware uses: 5 ms to 10 s.
func DurationBuckets() []float64 { return append([]float64(nil), durationBuckets...) }

// defaultExcludedPaths are the paths not measured unless
// MiddlewareConfig.Exclude says otherwise.
var defaultExcludedPaths = []string{"/livez", "/readyz", "/healthz", "/metrics"}

// MiddlewareConfig configures [NewMiddleware].
type MiddlewareConfig struct {
	// MeterProvider creates the http.server.request.duration histogram.
	// Nil means the otel global.
	MeterProvider metric.MeterProvider
	// TracerProvider, with Tracing, creates server spans. Nil means the otel
	// global.
	TracerProvider trace.TracerProvider
	// Tracing wraps the handler with otelhttp for server spans (with
	// otelhttp's own metrics turned off, so the duration is recorded once).
	Tracing bool
	// Exclude reports whether a request is neither measured nor traced. Nil
	// means: its path is /livez, /readyz, /healthz or /metrics, whose probe
	// and scrape traffic would only dilute the service's latency.
	Exclude func(*http.Request) bool
}

// Middleware records http.server.request.duration per the stable HTTP
// semantic conventions. It is safe for concurrent use.
type Middleware struct {
	duration metric.Float64Histogram
	exclude  func(*http.Request) bool
	tracing  bool
	tracer   trace.TracerProvider

	// sets caches the attribute set of each (method, route, status, …)
	// combination, so the steady state records without allocating. Each
	// value is a one-element slice passed as opts..., so that the variadic
	// call does not build a new slice per request either.
	mu   sync.RWMutex
	sets map[seriesKey][]metric.RecordOption
}

// maxCachedSeries bounds the attribute-set cache; combinations past it are
// still recorded, only without the cache.
const maxCachedSeries = 4096

type seriesKey struct {
	method, route, proto string
	status               int
	https, panicked      bool
}

// NewMiddleware creates the middleware's instrument.
func NewMiddleware(cfg MiddlewareConfig) (*Middleware, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	duration, err := mp.Meter(ScopeName).Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, fmt.Errorf("metrics: http.server.request.duration: %w", err)
	}
	m := &Middleware{duration: duration, exclude: cfg.Exclude, tracing: cfg.Tracing, tracer: cfg.TracerProvider,
		sets: make(map[seriesKey][]metric.RecordOption)}
	if m.exclude == nil {
		m.exclude = excludeDefaultPaths
	}
	if m.tracer == nil {
		m.tracer = otel.GetTracerProvider()
	}
	return m, nil
}

func excludeDefaultPaths(r *http.Request) bool {
	for _, p := range defaultExcludedPaths {
		if r.URL.Path == p {
			return true
		}
	}
	return false
}

// Handler is Wrap, under the name it had before every Keel middleware
// settled on Wrap (docs/CONVENTIONS.md).
//
// Deprecated: use Wrap.
func (m *Middleware) Handler(next http.Handler) http.Handler { return m.Wrap(next) }

// Wrap wraps next. The route is read from r.Pattern after next returns:
// the http.ServeMux sets it on the request it receives. So wrap the mux
// directly, or handlers inside it. A middleware placed between this one and
// the mux that replaces the request (r.WithContext) hides the pattern, and
// such requests are recorded without http.route.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.exclude(r) {
			next.ServeHTTP(w, r)
			return
		}
		m.serve(w, r, next)
	})
	if m.tracing {
		// otelhttp is outermost so that the request Keel's handler passes to
		// the mux is the one whose Pattern the mux sets.
		h = otelhttp.NewHandler(h, "http.server",
			otelhttp.WithTracerProvider(m.tracer),
			otelhttp.WithMeterProvider(noop.NewMeterProvider()),
			otelhttp.WithFilter(func(r *http.Request) bool { return !m.exclude(r) }))
	}
	return h
}

func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := time.Now()
	// A fresh writer per request, not a pooled one: a handler that wrongly
	// keeps its ResponseWriter past returning must never reach another
	// request's response.
	sw := &statusWriter{ResponseWriter: w}
	panicked := true
	defer func() {
		elapsed := time.Since(start).Seconds()
		status := sw.status
		if panicked {
			p := recover()
			if p == nil {
				// runtime.Goexit, not a panic (panic(nil) recovers as a
				// *runtime.PanicNilError): let the goroutine exit.
				m.record(r, status, true, elapsed)
				return
			}
			// Recorded, then re-raised for net/http (or an outer recoverer)
			// to handle as it would without the middleware.
			m.record(r, status, true, elapsed)
			panic(p)
		}
		if status == 0 {
			// A handler that writes nothing answers 200.
			status = http.StatusOK
		}
		m.record(r, status, false, elapsed)
	}()
	next.ServeHTTP(sw, r)
	panicked = false
}

func (m *Middleware) record(r *http.Request, status int, panicked bool, seconds float64) {
	key := seriesKey{
		method:   knownMethod(r.Method),
		route:    Route(r.Pattern),
		proto:    r.Proto,
		status:   status,
		https:    r.TLS != nil,
		panicked: panicked,
	}
	m.mu.RLock()
	opts, ok := m.sets[key]
	m.mu.RUnlock()
	if !ok {
		opts = []metric.RecordOption{metric.WithAttributeSet(key.attributes())}
		m.mu.Lock()
		if len(m.sets) < maxCachedSeries {
			m.sets[key] = opts
		}
		m.mu.Unlock()
	}
	m.duration.Record(r.Context(), seconds, opts...)
}

// attributes are exactly the conventions' Required, Conditionally Required
// and Recommended attributes of http.server.request.duration; the Opt-In
// server.address and server.port are left out on purpose.
func (k seriesKey) attributes() attribute.Set {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, semconv.HTTPRequestMethodKey.String(k.method))
	if k.https {
		attrs = append(attrs, semconv.URLScheme("https"))
	} else {
		attrs = append(attrs, semconv.URLScheme("http"))
	}
	if k.status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(k.status))
	}
	if k.route != "" {
		attrs = append(attrs, semconv.HTTPRoute(k.route))
	}
	if v := protocolVersion(k.proto); v != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(v))
	}
	switch {
	case k.panicked:
		attrs = append(attrs, semconv.ErrorTypeKey.String("panic"))
	case k.status >= 500:
		// A server error's type is its status code as a string.
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(k.status)))
	}
	return attribute.NewSet(attrs...)
}

// knownMethod returns method if the conventions know it, else "_OTHER", so
// that a client cannot create series by inventing methods.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodConnect, http.MethodOptions, http.MethodTrace, http.MethodPatch, "QUERY":
		return method
	}
	return "_OTHER"
}

// protocolVersion maps r.Proto to network.protocol.version ("1.1", "2").
func protocolVersion(proto string) string {
	switch proto {
	case "HTTP/1.1":
		return "1.1"
	case "HTTP/2.0", "HTTP/2":
		return "2"
	case "HTTP/1.0":
		return "1.0"
	case "HTTP/3.0", "HTTP/3":
		return "3"
	}
	return ""
}

// Route turns a Go 1.22+ http.ServeMux pattern ("[METHOD ][HOST]/PATH") into
// the http.route path template: the method and host are dropped and a
// trailing "{$}" becomes nothing ("GET example.com/items/{id}" →
// "/items/{id}", "/{$}" → "/"). An empty pattern, or a string with no path
// (which ServeMux would never have matched), gives "".
func Route(pattern string) string { return httproute.FromPattern(pattern) }
