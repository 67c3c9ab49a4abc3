// Package demo runs the sales API's story in-process, against a temporary
// data directory, and reports whether each promise held. It talks to the API
// over HTTP only, and inspects the data directory's raw bytes, as an auditor
// would.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/keel-go/keel/crypto/mask"
	"github.com/keel-go/keel/examples/salesapi/app"
	"github.com/keel-go/keel/examples/salesapi/gateway"
	"github.com/keel-go/keel/metrics"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Fixed keys for the in-process run; they never leave this process.
const (
	adminKey = "demo-admin-key-0123456789abcdef"
	salesKey = "demo-sales-key-0123456789abcdef"
)

// env is the running demo: the API, its gateway, its data and its logs.
type env struct {
	ctx     context.Context
	url     string
	dataDir string
	gw      *gateway.Gateway
	logs    *syncBuffer
	client  *http.Client
	w       io.Writer
	// customerID is the customer the first step creates and the others use.
	customerID string
}

// Run executes the demonstration and returns the process exit status: 0 when
// every promise held.
func Run(ctx context.Context, w io.Writer) int {
	e, cleanup, err := start(ctx, w)
	if err != nil {
		fmt.Fprintln(w, "demo: cannot start:", err)
		return 1
	}
	defer cleanup()
	fmt.Fprintf(w, "Keel sales API demo — data in %s\n\n", e.dataDir)
	failed := 0
	for i, s := range steps {
		fmt.Fprintf(w, "%d. %s\n", i+1, s.title)
		t0 := time.Now()
		evidence, err := s.run(e)
		for _, line := range evidence {
			fmt.Fprintf(w, "     %s\n", line)
		}
		if err != nil {
			failed++
			fmt.Fprintf(w, "   FAIL (%s): %v\n\n", time.Since(t0).Round(time.Millisecond), err)
			continue
		}
		fmt.Fprintf(w, "   PASS (%s)\n\n", time.Since(t0).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "demo: %d passed, %d failed\n", len(steps)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func start(ctx context.Context, w io.Writer) (*env, func(), error) {
	dir, err := os.MkdirTemp("", "salesapi-demo-")
	if err != nil {
		return nil, nil, err
	}
	logs := &syncBuffer{}
	logger := slog.New(mask.Default().Handler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	dash, err := app.NewDashboard(dir) // its reader joins the MeterProvider below, as in main
	if err != nil {
		return nil, nil, err
	}
	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi-demo", DisableRuntimeMetrics: true,
		Readers: []sdkmetric.Reader{dash.Reader()}})
	if err != nil {
		_ = dash.Close()
		return nil, nil, err
	}
	gw, err := gateway.Start("127.0.0.1:0", gateway.Chaos{})
	if err != nil {
		_ = dash.Close()
		return nil, nil, err
	}
	keys, _ := app.ParseAPIKeys(adminKey + "=admin," + salesKey + "=sales")
	a, err := app.New(ctx, app.Config{DataDir: dir, APIKeys: keys, GatewayURL: gw.URL(), Logger: logger,
		MetricsHandler: tel.Handler(), Dashboard: dash}, nil)
	if err != nil {
		_ = gw.Close()
		_ = dash.Close()
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	e := &env{ctx: ctx, url: "http://" + ln.Addr().String(), dataDir: dir, gw: gw, logs: logs,
		client: &http.Client{Timeout: 30 * time.Second}, w: w}
	return e, func() {
		_ = srv.Shutdown(context.WithoutCancel(ctx))
		_ = a.Close()
		_ = gw.Close()
		_ = dash.Close()
		_ = tel.Shutdown(context.WithoutCancel(ctx))
		_ = os.RemoveAll(dir)
	}, nil
}

// syncBuffer collects the service's log output for the PII check.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
