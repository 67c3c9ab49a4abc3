// Package otlp pushes a service's metrics and traces over OTLP (gRPC or
// HTTP/protobuf) through metrics.Setup. It is apart from metrics so that a
// service that only exposes Prometheus /metrics links neither gRPC nor the
// OTLP exporters.
//
//	push, err := otlp.New(otlp.Config{}) // on when OTEL_EXPORTER_OTLP_ENDPOINT is set
//	if err != nil { ... }
//	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi",
//		Exporters: []metrics.Exporter{push}})
//	defer tel.Shutdown(context.WithoutCancel(ctx)) // flushes what is buffered
//
// With Config.Protocol empty, OTLP is on only when OTEL_EXPORTER_OTLP_ENDPOINT
// (or its _METRICS_/_TRACES_ variant) is set, with OTEL_EXPORTER_OTLP_PROTOCOL
// (default http/protobuf); OTEL_METRICS_EXPORTER=none or
// OTEL_TRACES_EXPORTER=none switches a signal off. The exporters read the
// other standard variables themselves (headers, certificates, timeout,
// compression).
//
// # Guarantees
//
//   - Bad input: New returns an error naming the Config field (or the
//     protocol the environment named); it connects to nothing.
//   - Faults: an unreachable collector never blocks a request: export is
//     asynchronous and bounded by the exporter's timeout; Shutdown reports
//     the flush error.
//   - Secrets: headers (API keys) are never logged or put in errors.
//   - Lifecycle: metrics.Setup creates the exporters and owns them;
//     Telemetry.Shutdown flushes and stops them.
package otlp
