package metrics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	runtimemetrics "go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// OTLP protocols accepted by [OTLPConfig.Protocol] and by the
// OTEL_EXPORTER_OTLP_PROTOCOL environment variable.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// Config configures [Setup]. The zero value is usable: a Prometheus
// exporter, runtime metrics, globally installed providers, and OTLP export
// only when the standard OTEL_EXPORTER_OTLP_* variables ask for it.
type Config struct {
	// ServiceName is the service.name resource attribute. Zero means
	// OTEL_SERVICE_NAME, or the SDK's "unknown_service:<executable>".
	ServiceName string
	// ServiceVersion is the service.version resource attribute. Zero means
	// none.
	ServiceVersion string
	// InstanceID is the service.instance.id resource attribute. Zero means a
	// random 128-bit identifier drawn once per Setup.
	InstanceID string
	// Attributes are added to the resource (deployment.environment.name …).
	// OTEL_RESOURCE_ATTRIBUTES is honoured as well; these win over it.
	Attributes []attribute.KeyValue

	// DisablePrometheus turns off the Prometheus exporter; then
	// [Telemetry.Handler] answers 404.
	DisablePrometheus bool
	// DisableRuntimeMetrics turns off the Go runtime metrics (go.memory.*,
	// go.goroutine.count, go.gc.* …) from the contrib runtime instrumentation.
	DisableRuntimeMetrics bool
	// DisableGlobal leaves the otel global MeterProvider, TracerProvider and
	// propagator untouched. By default Setup installs all three, so that
	// every Keel package (whose nil providers mean the globals) reports here.
	DisableGlobal bool

	// OTLP configures OTLP export of metrics and traces. See [OTLPConfig].
	OTLP OTLPConfig

	// Readers are extra metric readers, for example the
	// sdkmetric.NewManualReader() that metrics/alert evaluates rules over.
	Readers []sdkmetric.Reader
	// Views are extra SDK views, applied after Keel's own (see [Views]).
	Views []sdkmetric.View
	// Sampler samples traces. Zero means the SDK default, which honours
	// OTEL_TRACES_SAMPLER (parent-based always-on when unset).
	Sampler sdktrace.Sampler

	// Logger receives a line when Setup installs exporters. Nil means no logs.
	Logger *slog.Logger
}

// OTLPConfig selects OTLP exporters. With Protocol empty, OTLP is enabled
// only when OTEL_EXPORTER_OTLP_ENDPOINT (or its _METRICS_/_TRACES_ variant)
// is set, using OTEL_EXPORTER_OTLP_PROTOCOL (default http/protobuf).
// OTEL_METRICS_EXPORTER=none or OTEL_TRACES_EXPORTER=none switches that
// signal off. The exporters read every other standard variable themselves
// (headers, certificates, timeout, compression).
type OTLPConfig struct {
	// Protocol is ProtocolGRPC or ProtocolHTTPProtobuf; setting it enables
	// OTLP without any environment variable.
	Protocol string
	// Endpoint overrides the exporters' endpoint: "host:port" for gRPC; for
	// HTTP a base URL to which /v1/metrics and /v1/traces are appended, as
	// with OTEL_EXPORTER_OTLP_ENDPOINT. Zero means the environment or the
	// exporter's default (localhost:4317 / http://localhost:4318).
	Endpoint string
	// Insecure disables TLS towards the collector.
	Insecure bool
	// Headers are sent with every export (an API key, for instance). They
	// are never logged.
	Headers map[string]string
	// ExportInterval is how often metrics are pushed. Zero means
	// OTEL_METRIC_EXPORT_INTERVAL or the SDK's 60 s.
	ExportInterval time.Duration
	// DisableTraces and DisableMetrics turn off one of the two signals.
	DisableTraces  bool
	DisableMetrics bool
}

// Telemetry is what [Setup] installed. Shutdown flushes and stops it.
type Telemetry struct {
	meterProvider  *sdkmetric.MeterProvider
	tracerProvider *sdktrace.TracerProvider
	handler        http.Handler
	resource       *resource.Resource

	shutdownOnce sync.Once
	shutdownErr  error
}

// MeterProvider returns the SDK meter provider.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.meterProvider }

// TracerProvider returns the SDK tracer provider.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracerProvider }

// Resource returns the resource every metric and span carries.
func (t *Telemetry) Resource() *resource.Resource { return t.resource }

// Handler serves the Prometheus exposition (mount it at /metrics). It
// negotiates the text or protobuf format with the scraper.
func (t *Telemetry) Handler() http.Handler { return t.handler }

// Shutdown pushes what is buffered to the OTLP exporters, then stops the
// providers. It is safe to call more than once; later calls return the
// first call's result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		t.shutdownErr = errors.Join(t.meterProvider.Shutdown(ctx), t.tracerProvider.Shutdown(ctx))
	})
	return t.shutdownErr
}

// Setup builds the resource, a MeterProvider with Keel's views and the
// configured readers, a TracerProvider, starts runtime metrics, and installs
// the providers globally (unless Config.DisableGlobal). On error nothing is
// left running.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	otlp, err := resolveOTLP(cfg.OTLP)
	if err != nil {
		return nil, err
	}
	res, err := buildResource(ctx, cfg)
	if err != nil {
		return nil, err
	}

	var undo []func(context.Context) error
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			_ = undo[i](ctx)
		}
	}

	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	for _, v := range append(Views(), cfg.Views...) {
		mopts = append(mopts, sdkmetric.WithView(v))
	}
	for _, r := range cfg.Readers {
		if r == nil {
			return nil, errors.New("metrics: Config.Readers contains a nil reader")
		}
		mopts = append(mopts, sdkmetric.WithReader(r))
	}

	handler := http.Handler(http.NotFoundHandler())
	if !cfg.DisablePrometheus {
		registry := prometheus.NewRegistry()
		exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
		if err != nil {
			return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
		}
		mopts = append(mopts, sdkmetric.WithReader(exporter))
		handler = promhttp.HandlerFor(renamingGatherer{registry}, promhttp.HandlerOpts{})
	}

	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.Sampler != nil {
		topts = append(topts, sdktrace.WithSampler(cfg.Sampler))
	}
	if otlp.enabled {
		var metricExp sdkmetric.Exporter
		if !otlp.DisableMetrics {
			if metricExp, err = newMetricExporter(ctx, otlp); err != nil {
				return nil, err
			}
			undo = append(undo, metricExp.Shutdown)
		}
		if !otlp.DisableTraces {
			exp, err := newTraceExporter(ctx, otlp)
			if err != nil {
				cleanup()
				return nil, err
			}
			undo = append(undo, exp.Shutdown)
			topts = append(topts, sdktrace.WithBatcher(exp))
		}
		// The periodic reader starts its goroutine at once, so it is made
		// only when nothing else can fail before the provider owns it.
		if metricExp != nil {
			var ropts []sdkmetric.PeriodicReaderOption
			if otlp.ExportInterval > 0 {
				ropts = append(ropts, sdkmetric.WithInterval(otlp.ExportInterval))
			}
			mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp, ropts...)))
		}
	}

	mp := sdkmetric.NewMeterProvider(mopts...)
	undo = append(undo, mp.Shutdown)
	tp := sdktrace.NewTracerProvider(topts...)
	undo = append(undo, tp.Shutdown)

	if !cfg.DisableRuntimeMetrics {
		if err := runtimemetrics.Start(runtimemetrics.WithMeterProvider(mp)); err != nil {
			cleanup()
			return nil, fmt.Errorf("metrics: runtime metrics: %w", err)
		}
	}
	if !cfg.DisableGlobal {
		otel.SetMeterProvider(mp)
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
			propagation.TraceContext{}, propagation.Baggage{}))
	}
	if cfg.Logger != nil {
		cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "metrics: telemetry installed",
			slog.Bool("prometheus", !cfg.DisablePrometheus),
			slog.Bool("otlp", otlp.enabled),
			slog.String("otlp_protocol", otlp.Protocol),
			slog.Bool("global", !cfg.DisableGlobal))
	}
	return &Telemetry{meterProvider: mp, tracerProvider: tp, handler: handler, resource: res}, nil
}

// otlpSettings is OTLPConfig after the environment has been consulted.
type otlpSettings struct {
	OTLPConfig
	enabled bool
}

func resolveOTLP(c OTLPConfig) (otlpSettings, error) {
	s := otlpSettings{OTLPConfig: c}
	if c.ExportInterval < 0 {
		return s, fmt.Errorf("metrics: Config.OTLP.ExportInterval must be >= 0, got %v", c.ExportInterval)
	}
	if s.Protocol == "" {
		envSet := false
		for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
			if os.Getenv(name) != "" {
				envSet = true
			}
		}
		if !envSet && c.Endpoint == "" {
			return s, nil
		}
		s.Protocol = strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
		if s.Protocol == "" {
			s.Protocol = ProtocolHTTPProtobuf
		}
	}
	switch s.Protocol {
	case ProtocolGRPC, ProtocolHTTPProtobuf:
	default:
		return s, fmt.Errorf("metrics: Config.OTLP.Protocol must be %q or %q, got %q", ProtocolGRPC, ProtocolHTTPProtobuf, s.Protocol)
	}
	// The standard selectors may switch a signal off ("none"); any other
	// value keeps OTLP, the only exporter this package pushes with.
	if strings.TrimSpace(os.Getenv("OTEL_METRICS_EXPORTER")) == "none" {
		s.DisableMetrics = true
	}
	if strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")) == "none" {
		s.DisableTraces = true
	}
	s.enabled = !(s.DisableMetrics && s.DisableTraces)
	return s, nil
}

// exporterOptions turns the settings into one exporter package's options;
// the four OTLP packages have the same three knobs under different types.
func exporterOptions[O any](s otlpSettings, endpoint func(string) O, insecure func() O, headers func(map[string]string) O) []O {
	var opts []O
	if s.Endpoint != "" {
		opts = append(opts, endpoint(s.Endpoint))
	}
	if s.Insecure {
		opts = append(opts, insecure())
	}
	if len(s.Headers) > 0 {
		opts = append(opts, headers(s.Headers))
	}
	return opts
}

// signalURL appends the OTLP/HTTP signal path to a base endpoint URL.
func signalURL(base, signal string) string {
	return strings.TrimSuffix(base, "/") + "/v1/" + signal
}

func newMetricExporter(ctx context.Context, s otlpSettings) (sdkmetric.Exporter, error) {
	var (
		exp sdkmetric.Exporter
		err error
	)
	if s.Protocol == ProtocolGRPC {
		exp, err = otlpmetricgrpc.New(ctx, exporterOptions(s, otlpmetricgrpc.WithEndpoint,
			otlpmetricgrpc.WithInsecure, otlpmetricgrpc.WithHeaders)...)
	} else {
		exp, err = otlpmetrichttp.New(ctx, exporterOptions(s,
			func(base string) otlpmetrichttp.Option {
				return otlpmetrichttp.WithEndpointURL(signalURL(base, "metrics"))
			},
			otlpmetrichttp.WithInsecure, otlpmetrichttp.WithHeaders)...)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: OTLP metric exporter (%s): %w", s.Protocol, err)
	}
	return exp, nil
}

func newTraceExporter(ctx context.Context, s otlpSettings) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if s.Protocol == ProtocolGRPC {
		exp, err = otlptracegrpc.New(ctx, exporterOptions(s, otlptracegrpc.WithEndpoint,
			otlptracegrpc.WithInsecure, otlptracegrpc.WithHeaders)...)
	} else {
		exp, err = otlptracehttp.New(ctx, exporterOptions(s,
			func(base string) otlptracehttp.Option {
				return otlptracehttp.WithEndpointURL(signalURL(base, "traces"))
			},
			otlptracehttp.WithInsecure, otlptracehttp.WithHeaders)...)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: OTLP trace exporter (%s): %w", s.Protocol, err)
	}
	return exp, nil
}

func buildResource(ctx context.Context, cfg Config) (*resource.Resource, error) {
	id := cfg.InstanceID
	if id == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("metrics: instance id: %w", err)
		}
		id = hex.EncodeToString(b[:])
	}
	attrs := []attribute.KeyValue{semconv.ServiceInstanceID(id)}
	if cfg.ServiceName != "" {
		attrs = append(attrs, semconv.ServiceName(cfg.ServiceName))
	}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(cfg.ServiceVersion))
	}
	for _, kv := range cfg.Attributes {
		if !kv.Valid() {
			return nil, fmt.Errorf("metrics: Config.Attributes has an invalid attribute %q", string(kv.Key))
		}
	}
	attrs = append(attrs, cfg.Attributes...)
	res, err := resource.New(ctx,
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(attrs...),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("metrics: resource: %w", err)
	}
	// The SDK default carries service.name=unknown_service:<exe> when neither
	// the config nor OTEL_SERVICE_NAME names the service.
	merged, err := resource.Merge(resource.Default(), res)
	if err != nil {
		return nil, fmt.Errorf("metrics: resource: %w", err)
	}
	return merged, nil
}
