package otlp_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/otlp"
)

// grpcCollector is a minimal OTLP/gRPC collector counting what it receives.
type grpcCollector struct {
	colmetricpb.UnimplementedMetricsServiceServer
	coltracepb.UnimplementedTraceServiceServer
	metricExports, spanExports atomic.Int64
}

func (c *grpcCollector) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	c.metricExports.Add(int64(len(req.GetResourceMetrics())))
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

// traceService adapts the collector to the trace service, whose Export has
// another signature.
type traceService struct{ *grpcCollector }

func (t traceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	t.spanExports.Add(int64(len(req.GetResourceSpans())))
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func TestOTLPGRPCFlushesOnShutdown(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	col := &grpcCollector{}
	srv := grpc.NewServer()
	colmetricpb.RegisterMetricsServiceServer(srv, col)
	coltracepb.RegisterTraceServiceServer(srv, traceService{col})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	tel := setup(t, otlp.Config{Protocol: otlp.ProtocolGRPC, Endpoint: lis.Addr().String(), Insecure: true},
		metrics.Config{ServiceName: "salesapi", DisableGlobal: true, DisablePrometheus: true, DisableRuntimeMetrics: true})
	counter, err := tel.MeterProvider().Meter("test").Int64Counter("keel.test.events")
	require.NoError(t, err)
	counter.Add(context.Background(), 1)
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "work")
	span.End()
	require.NoError(t, tel.Shutdown(context.Background()))

	assert.GreaterOrEqual(t, col.metricExports.Load(), int64(1))
	assert.GreaterOrEqual(t, col.spanExports.Load(), int64(1))
}
