package metrics

import (
	"compress/gzip"
	"errors"
	"github.com/keel-go/keel/metrics/internal/acceptenc"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// prometheusRenames maps exported family names that break Prometheus naming
// rules to names that keep them. The runtime instrumentation's gauge
// go.goroutine.count would be exposed as go_goroutine_count, and a "_count"
// suffix on anything but a histogram or summary is rejected by
// `promtool check metrics` (it collides with histogram series). Prometheus
// users know the value as go_goroutines (client_golang's name), so the
// exposition uses that; OTLP keeps the semantic-convention name.
var prometheusRenames = map[string]string{
	"go_goroutine_count": "go_goroutines",
	// The same rule for the process gauge; process_open_fds is
	// client_golang's process collector's name for it.
	"process_unix_file_descriptor_count": "process_open_fds",
	// And for metrics/sqlmetrics' pool gauge (db.client.connection.count
	// in the conventions): db_client_connections in the exposition.
	"db_client_connection_count": "db_client_connections",
}

// textContentType is what promhttp answered every text scrape with
// (expfmt's text format 0.0.4 with the underscore escaping its names use).
const textContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// expositionHandler serves what its reader collects in the Prometheus text
// format. It replaces the OpenTelemetry Prometheus exporter, client_golang's
// registry and promhttp, which linked protobuf into every service.
type expositionHandler struct {
	reader   *sdkmetric.ManualReader
	renderer *promRenderer
	buffers  sync.Pool // *[]byte
	gzips    sync.Pool // *gzip.Writer
}

func newExpositionHandler(reader *sdkmetric.ManualReader) *expositionHandler {
	return &expositionHandler{reader: reader, renderer: newPromRenderer()}
}

func (h *expositionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer depends on Accept-Encoding, the empty ones too: a cache
	// in between must not give one scraper's gzip to another.
	w.Header().Add("Vary", "Accept-Encoding")
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(r.Context(), &rm); err != nil {
		// Shut down or never registered: nothing to show, as promhttp
		// showed nothing. Anything else (a callback that failed) still
		// leaves the rest of the data to show.
		if errors.Is(err, sdkmetric.ErrReaderShutdown) || errors.Is(err, sdkmetric.ErrReaderNotRegistered) {
			w.Header().Set("Content-Type", textContentType)
			return
		}
		otel.Handle(err)
	}
	families, err := h.renderer.families(&rm)
	if err != nil {
		otel.Handle(err)
	}
	buf, _ := h.buffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = writePromText((*buf)[:0], families)
	defer h.buffers.Put(buf)

	w.Header().Set("Content-Type", textContentType)
	if !acceptsGzip(strings.Join(r.Header.Values("Accept-Encoding"), ",")) {
		w.Header().Set("Content-Length", strconv.Itoa(len(*buf)))
		_, _ = w.Write(*buf)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	gz, _ := h.gzips.Get().(*gzip.Writer)
	if gz == nil {
		gz = gzip.NewWriter(w)
	} else {
		gz.Reset(w)
	}
	_, _ = gz.Write(*buf)
	_ = gz.Close()
	h.gzips.Put(gz)
}

// acceptsGzip applies an Accept-Encoding header (its lines joined into one
// list) as RFC 9110 §12.5.3 reads it; see acceptenc.Gzip.
func acceptsGzip(header string) bool { return acceptenc.Gzip(header) }
