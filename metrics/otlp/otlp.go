package otlp

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Protocols accepted by [Config.Protocol] and by the
// OTEL_EXPORTER_OTLP_PROTOCOL environment variable.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// Config selects OTLP exporters. With Protocol empty, OTLP is enabled only
// when OTEL_EXPORTER_OTLP_ENDPOINT (or its _METRICS_/_TRACES_ variant) is
// set, using OTEL_EXPORTER_OTLP_PROTOCOL (default http/protobuf).
// OTEL_METRICS_EXPORTER=none or OTEL_TRACES_EXPORTER=none switches that
// signal off. The exporters read every other standard variable themselves
// (headers, certificates, timeout, compression).
type Config struct {
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

// Exporter is the OTLP exporter pair for metrics.Config.Exporters.
type Exporter struct {
	s settings
}

// settings is Config after the environment has been consulted.
type settings struct {
	Config
	enabled bool
}

// New validates cfg and consults the environment. It connects to nothing:
// metrics.Setup creates the exporters. When neither cfg nor the
// environment asks for OTLP, the Exporter is disabled (Enabled is false)
// and creates none.
func New(cfg Config) (*Exporter, error) {
	s, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	return &Exporter{s: s}, nil
}

// Enabled reports whether OTLP export is on.
func (e *Exporter) Enabled() bool { return e.s.enabled }

// Protocol is the protocol in use ("" when disabled).
func (e *Exporter) Protocol() string {
	if !e.s.enabled {
		return ""
	}
	return e.s.Protocol
}

// ExportInterval is Config.ExportInterval.
func (e *Exporter) ExportInterval() time.Duration { return e.s.ExportInterval }

// NewExporters creates the metric and span exporters, either nil when its
// signal is off. metrics.Setup calls it.
func (e *Exporter) NewExporters(ctx context.Context) (sdkmetric.Exporter, sdktrace.SpanExporter, error) {
	if !e.s.enabled {
		return nil, nil, nil
	}
	var (
		metricExp sdkmetric.Exporter
		spanExp   sdktrace.SpanExporter
		err       error
	)
	if !e.s.DisableMetrics {
		if metricExp, err = newMetricExporter(ctx, e.s); err != nil {
			return nil, nil, err
		}
	}
	if !e.s.DisableTraces {
		if spanExp, err = newTraceExporter(ctx, e.s); err != nil {
			if metricExp != nil {
				_ = metricExp.Shutdown(ctx)
			}
			return nil, nil, err
		}
	}
	return metricExp, spanExp, nil
}

func resolve(c Config) (settings, error) {
	s := settings{Config: c}
	if c.ExportInterval < 0 {
		return s, fmt.Errorf("otlp: Config.ExportInterval must be >= 0, got %v", c.ExportInterval)
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
		return s, fmt.Errorf("otlp: Config.Protocol must be %q or %q, got %q", ProtocolGRPC, ProtocolHTTPProtobuf, s.Protocol)
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
func exporterOptions[O any](s settings, endpoint func(string) O, insecure func() O, headers func(map[string]string) O) []O {
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

func newMetricExporter(ctx context.Context, s settings) (sdkmetric.Exporter, error) {
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
		return nil, fmt.Errorf("otlp: metric exporter (%s): %w", s.Protocol, err)
	}
	return exp, nil
}

func newTraceExporter(ctx context.Context, s settings) (sdktrace.SpanExporter, error) {
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
		return nil, fmt.Errorf("otlp: trace exporter (%s): %w", s.Protocol, err)
	}
	return exp, nil
}
