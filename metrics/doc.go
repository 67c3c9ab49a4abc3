// Package metrics is where a service turns OpenTelemetry on and exposes it:
// one call installs the SDK, a Prometheus /metrics handler (Keel's own
// text exposition, no client_golang or protobuf), push exporters
// (OTLP, from metrics/otlp) and Go runtime metrics, and a net/http middleware records request
// durations exactly as the stable HTTP semantic conventions define them.
//
// The primitive packages of Keel (retry, breaker, cache, …) use only the
// OpenTelemetry API and report to the otel globals unless given providers;
// [Setup] installs the SDK behind those globals, so everything they measure
// appears on /metrics and in the OTLP stream without further wiring.
// Subpackages: metrics/otlp (OTLP export over gRPC or HTTP), metrics/health
// (liveness and readiness endpoints), metrics/alert (threshold rules over
// the collected metrics), metrics/sqlmetrics (database/sql telemetry) and
// metrics/requestctx (request id and route in the context).
//
// # Setup
//
//	push, err := otlp.New(otlp.Config{}) // OTLP when OTEL_EXPORTER_OTLP_* asks for it
//	if err != nil { ... }
//	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi", ServiceVersion: version,
//		Exporters: []metrics.Exporter{push}})
//	if err != nil { ... }
//	defer tel.Shutdown(context.WithoutCancel(ctx)) // flushes OTLP
//	mux.Handle("GET /metrics", tel.Handler())
//
// The resource carries service.name, service.version and service.instance.id
// (random per process unless configured), host and process runtime details,
// and OTEL_RESOURCE_ATTRIBUTES. Push export is whatever Config.Exporters
// holds: metrics/otlp's exporter is on when its Config.Protocol is set or
// OTEL_EXPORTER_OTLP_ENDPOINT (or its _METRICS_/_TRACES_ variant) is. It
// lives in its own package so that a Prometheus-only service, which does not
// import it, links neither gRPC nor the OTLP exporters.
//
// # HTTP server metrics
//
// [Middleware] records http.server.request.duration (seconds, the advised
// buckets 5 ms … 10 s) with http.request.method (unknown methods become
// _OTHER), url.scheme, http.response.status_code, http.route (the matched
// http.ServeMux pattern, without method and host), network.protocol.version,
// and error.type (the status code for 5xx, "panic" for a handler that
// panicked). It never records server.address: the conventions make it
// Opt-In, and taken from the Host header it lets any client mint series.
// Probes and /metrics are excluded by default. With Tracing it also creates
// server spans through otelhttp, named "METHOD /route".
//
// # HTTP client metrics
//
// [Transport] is an http.RoundTripper that records
// http.client.request.duration (method, server.address, server.port,
// url.scheme, status, network.protocol.version, error.type: the status for
// 4xx/5xx, else the failure's kind), optionally a client span, and injects
// traceparent when the request's context has a span. Wrap it in
// breaker.Transport or resilience's Transport (as their Base) to measure
// each attempt.
//
// For services that use otelhttp.NewHandler directly, [Views] (installed by
// Setup) drop the Host-derived server.address and server.port from
// otelhttp's metrics.
//
// # Guarantees
//
//   - Concurrency: Telemetry and Middleware are safe for concurrent use.
//   - Cardinality: the middleware's attribute values come from finite sets
//     (known methods, registered patterns, status codes), never from the
//     URL path, the Host header or the query.
//   - Faults: a panicking handler is recorded with error.type "panic" and
//     the panic continues to propagate unchanged. An unreachable OTLP
//     collector never blocks a request: export is asynchronous and bounded
//     by the exporter's timeout; Shutdown reports the flush error.
//   - Bad input: Setup returns an error naming the Config field; it starts
//     nothing when it fails.
//   - Secrets: OTLP headers (API keys) are never logged or put in errors.
//   - Exposition: /metrics serves the Prometheus text format 0.0.4
//     (gzip-compressed when the scraper's Accept-Encoding accepts gzip by name,
//     or by "*" with identity refused; every answer says Vary:
//     Accept-Encoding), written by Keel from a cumulative ManualReader with the
//     names, labels, HELP/TYPE lines and order the OpenTelemetry Prometheus
//     exporter produced (dots to underscores, unit and _total suffixes,
//     otel_scope_* labels, target_info): the tests require the same bytes as
//     that exporter for every documented metric. It links neither client_golang
//     nor protobuf. The output passes `promtool check metrics`. The runtime
//     gauge go.goroutine.count is exposed as go_goroutines there, because a
//     "_count" suffix on a gauge is invalid Prometheus naming. Where the old
//     exporter failed the whole scrape with HTTP 500 (two instruments of one
//     name and different types, duplicate series, a label value that is not
//     UTF-8, a gauge named like a histogram's _count) or served text Prometheus
//     cannot parse (a histogram point with an attribute named le, which the
//     writer adds to buckets), the offending family, series or bytes are left
//     out or replaced, the rest is served, and the error goes to the otel error
//     handler. Protobuf and OpenMetrics are not offered (a scraper asking for
//     them gets text, which Prometheus reads by its Content-Type); so
//     exemplars, which only those formats carry, are not exposed, as they were
//     not in text before.
package metrics
