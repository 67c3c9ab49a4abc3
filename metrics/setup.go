package metrics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	runtimemetrics "go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Config configures [Setup]. The zero value is usable: a Prometheus
// /metrics handler, runtime metrics and globally installed providers. Push export
// (OTLP) is added through Exporters, from metrics/otlp, so that a service
// that does not push links no gRPC or protobuf.
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

	// DisablePrometheus turns off the Prometheus exposition; then
	// [Telemetry.Handler] answers 404.
	DisablePrometheus bool
	// DisableRuntimeMetrics turns off the Go runtime metrics (go.memory.*,
	// go.goroutine.count, go.gc.* …) from the contrib runtime instrumentation.
	DisableRuntimeMetrics bool
	// DisableProcessMetrics turns off the process metrics (process.cpu.time,
	// process.memory.usage, process.unix.file_descriptor.count), read from
	// /proc on Linux by prometheus/procfs; elsewhere there are none.
	DisableProcessMetrics bool
	// DisableGlobal leaves the otel global MeterProvider, TracerProvider and
	// propagator untouched. By default Setup installs all three, so that
	// every Keel package (whose nil providers mean the globals) reports here.
	DisableGlobal bool

	// Exporters push metrics and traces (metrics/otlp.New makes the OTLP
	// one). Setup creates their exporters, owns them from then on, and
	// Telemetry.Shutdown flushes and stops them.
	Exporters []Exporter

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

// Exporter is a push exporter [Setup] installs: metrics/otlp's is one.
type Exporter interface {
	// NewExporters creates the exporters; either may be nil, which leaves
	// that signal unpushed. Setup calls it once and shuts down what it
	// returns.
	NewExporters(ctx context.Context) (sdkmetric.Exporter, sdktrace.SpanExporter, error)
	// ExportInterval is how often metrics are pushed. Zero means
	// OTEL_METRIC_EXPORT_INTERVAL or the SDK's 60 s.
	ExportInterval() time.Duration
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

// Handler serves the Prometheus exposition (mount it at /metrics) in the
// text format 0.0.4, gzip-compressed when the scraper accepts it.
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
	if cfg.Logger == nil {
		// Set once here, so that no path tests for nil (docs/CONVENTIONS.md).
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for i, e := range cfg.Exporters {
		if e == nil {
			return nil, fmt.Errorf("metrics: Config.Exporters[%d] is nil", i)
		}
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
		// Keel's own exposition (exposition.go) over a cumulative manual
		// reader, as the OpenTelemetry Prometheus exporter was.
		reader := sdkmetric.NewManualReader()
		mopts = append(mopts, sdkmetric.WithReader(reader))
		handler = newExpositionHandler(reader)
	}

	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.Sampler != nil {
		topts = append(topts, sdktrace.WithSampler(cfg.Sampler))
	}
	// The periodic readers start their goroutines at once, so they are
	// made only when no exporter can fail any more.
	type pusher struct {
		exp      sdkmetric.Exporter
		interval time.Duration
	}
	var pushers []pusher
	for _, e := range cfg.Exporters {
		metricExp, spanExp, err := e.NewExporters(ctx)
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("metrics: exporter: %w", err)
		}
		if metricExp != nil {
			undo = append(undo, metricExp.Shutdown)
			pushers = append(pushers, pusher{metricExp, e.ExportInterval()})
		}
		if spanExp != nil {
			undo = append(undo, spanExp.Shutdown)
			topts = append(topts, sdktrace.WithBatcher(spanExp))
		}
	}
	for _, p := range pushers {
		var ropts []sdkmetric.PeriodicReaderOption
		if p.interval > 0 {
			ropts = append(ropts, sdkmetric.WithInterval(p.interval))
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(p.exp, ropts...)))
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
	if !cfg.DisableProcessMetrics {
		// The registration lives as long as the provider: Shutdown stops
		// every callback.
		if _, err := startProcessMetrics(mp); err != nil {
			cleanup()
			return nil, err
		}
	}
	if !cfg.DisableGlobal {
		otelglobal.SetMeterProvider(mp)
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
			propagation.TraceContext{}, propagation.Baggage{}))
	}
	cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "metrics: telemetry installed",
		slog.Bool("prometheus", !cfg.DisablePrometheus),
		slog.Int("exporters", len(cfg.Exporters)),
		slog.Bool("global", !cfg.DisableGlobal))
	return &Telemetry{meterProvider: mp, tracerProvider: tp, handler: handler, resource: res}, nil
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
