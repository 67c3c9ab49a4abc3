package requestctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/keel-go/keel/metrics/requestctx"
)

func TestLogHandlerAddsTheRequestsIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(requestctx.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "salesapi")
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())

	mux := http.NewServeMux()
	var traceID, spanID string
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("test").Start(r.Context(), "handler")
		defer span.End()
		traceID, spanID = span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()
		logger.InfoContext(ctx, "order read", "order", r.PathValue("id"))
	})
	req := httptest.NewRequest(http.MethodGet, "/orders/7", nil)
	req.Header.Set(requestctx.Header, "req-77")
	requestctx.Middleware(mux).ServeHTTP(httptest.NewRecorder(), req)

	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
	assert.Equal(t, "req-77", rec["request_id"])
	assert.Equal(t, traceID, rec["trace_id"])
	assert.Equal(t, spanID, rec["span_id"])
	assert.Equal(t, "salesapi", rec["service"])
	assert.Equal(t, "7", rec["order"])
}

func TestLogHandlerLeavesRecordsWithoutIDsAlone(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(requestctx.NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	logger.InfoContext(context.Background(), "startup")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	assert.NotContains(t, rec, "request_id")
	assert.NotContains(t, rec, "trace_id")
	assert.NotContains(t, rec, "span_id")

	buf.Reset()
	logger.WithGroup("job").InfoContext(requestctx.WithID(context.Background(), "job-1"), "ran")
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	assert.Equal(t, map[string]any{"request_id": "job-1"}, rec["job"])
	assert.False(t, slog.New(requestctx.NewLogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))).
		Enabled(context.Background(), slog.LevelInfo))
}
