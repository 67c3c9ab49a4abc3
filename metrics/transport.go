package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TransportConfig configures [NewTransport].
type TransportConfig struct {
	// Base sends the requests. Nil means http.DefaultTransport.
	Base http.RoundTripper
	// MeterProvider creates the http.client.request.duration histogram. Nil
	// means the otel global.
	MeterProvider metric.MeterProvider
	// TracerProvider, with Tracing, creates client spans. Nil means the otel
	// global.
	TracerProvider trace.TracerProvider
	// Tracing creates a client span per request, named by its method.
	Tracing bool
	// Propagator injects the trace context (traceparent, and baggage with
	// the default) of the request's context into its headers. Nil means the
	// otel global. Injection happens only when the context carries a valid
	// span context: without one there is nothing to propagate.
	Propagator propagation.TextMapPropagator
	// DisablePropagation sends no trace headers at all.
	DisablePropagation bool
}

// Transport is an http.RoundTripper that records
// http.client.request.duration per the stable HTTP semantic conventions,
// and optionally a client span and the traceparent header. It is safe for
// concurrent use.
//
// It composes with breaker.Transport and resilience's Transport through
// their Base: as their Base it measures each attempt (what the dependency
// saw); wrapping them, it measures the logical request (what the caller
// waited for, retries included).
type Transport struct {
	base       http.RoundTripper
	duration   metric.Float64Histogram
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	mu   sync.RWMutex
	sets map[clientSeriesKey][]metric.RecordOption
}

type clientSeriesKey struct {
	method, host, proto, errType string
	port, status                 int
	https                        bool
}

// NewTransport creates the transport's instrument.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	duration, err := mp.Meter(ScopeName).Float64Histogram("http.client.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, fmt.Errorf("metrics: http.client.request.duration: %w", err)
	}
	t := &Transport{base: cfg.Base, duration: duration, sets: make(map[clientSeriesKey][]metric.RecordOption)}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if cfg.Tracing {
		tp := cfg.TracerProvider
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		t.tracer = tp.Tracer(ScopeName)
	}
	if !cfg.DisablePropagation {
		t.propagator = cfg.Propagator
		if t.propagator == nil {
			t.propagator = otel.GetTextMapPropagator()
		}
	}
	return t, nil
}

// RoundTrip sends req through the base transport. The duration runs until
// the response headers arrive (or the base fails), as the conventions
// define it for a client request. req is never modified: when trace headers
// are injected they go on a copy with its own header map.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	ctx := req.Context()
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, knownMethod(req.Method), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(start), trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(knownMethod(req.Method)),
				semconv.ServerAddress(req.URL.Hostname()),
				semconv.ServerPort(serverPort(req)),
				semconv.URLFull(redactedURL(req))))
	}
	out := req
	if t.propagator != nil && trace.SpanContextFromContext(ctx).IsValid() {
		out = req.WithContext(ctx)
		out.Header = req.Header.Clone()
		if out.Header == nil {
			out.Header = http.Header{}
		}
		t.propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
	}
	resp, err := t.base.RoundTrip(out)
	// time.Since reads the monotonic clock alone; a second time.Now would
	// read the wall clock too, which the duration does not need.
	elapsed := time.Since(start)
	key := clientSeriesKey{method: knownMethod(req.Method), host: req.URL.Hostname(), port: serverPort(req),
		https: req.URL.Scheme == "https"}
	if err != nil {
		key.errType = transportErrorType(err)
	} else {
		key.status = resp.StatusCode
		key.proto = resp.Proto
		if resp.StatusCode >= 400 {
			// For a client, 4xx and 5xx are errors; their type is the code.
			key.errType = strconv.Itoa(resp.StatusCode)
		}
	}
	t.duration.Record(ctx, elapsed.Seconds(), t.options(key)...)
	if span != nil {
		if err == nil {
			span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		}
		if key.errType != "" {
			span.SetAttributes(semconv.ErrorTypeKey.String(key.errType))
			span.SetStatus(codes.Error, key.errType)
		}
		span.End(trace.WithTimestamp(start.Add(elapsed)))
	}
	return resp, err
}

// CloseIdleConnections forwards to the base transport, so that
// http.Client.CloseIdleConnections reaches it.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *Transport) options(key clientSeriesKey) []metric.RecordOption {
	t.mu.RLock()
	opts, ok := t.sets[key]
	t.mu.RUnlock()
	if ok {
		return opts
	}
	opts = []metric.RecordOption{metric.WithAttributeSet(key.attributes())}
	t.mu.Lock()
	if len(t.sets) < maxCachedSeries {
		t.sets[key] = opts
	}
	t.mu.Unlock()
	return opts
}

// attributes are the conventions' Required and Conditionally Required
// attributes of http.client.request.duration, and the Recommended
// network.protocol.version; url.scheme (Opt-In) is kept because it is one
// of two values.
func (k clientSeriesKey) attributes() attribute.Set {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, semconv.HTTPRequestMethodKey.String(k.method), semconv.ServerAddress(k.host),
		semconv.ServerPort(k.port))
	if k.https {
		attrs = append(attrs, semconv.URLScheme("https"))
	} else {
		attrs = append(attrs, semconv.URLScheme("http"))
	}
	if k.status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(k.status))
	}
	if v := protocolVersion(k.proto); v != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(v))
	}
	if k.errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(k.errType))
	}
	return attribute.NewSet(attrs...)
}

// serverPort is the request's port, or the scheme's default.
func serverPort(req *http.Request) int {
	if p := req.URL.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 {
			return n
		}
	}
	if req.URL.Scheme == "https" {
		return 443
	}
	return 80
}

// redactedURL is the request URL for the span, without user info and
// query, which may hold credentials or personal data.
func redactedURL(req *http.Request) string {
	u := *req.URL
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	return u.String()
}

// transportErrorType names a failed round trip by a small set of values:
// "timeout", "context.Canceled", "context.DeadlineExceeded", or the error's
// Go type.
func transportErrorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return "timeout"
	}
	return fmt.Sprintf("%T", err)
}
