package app_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/keel-go/keel/examples/salesapi/app"
	"github.com/keel-go/keel/examples/salesapi/gateway"
	"github.com/keel-go/keel/examples/salesapi/load"
	"github.com/keel-go/keel/metrics"
)

// BenchmarkReliabilityOverhead drives one route at a time against two
// in-process instances in the same run: the full API (rate limit,
// idempotency, HTTP metrics on a real SDK, caches) and the same handlers
// bare (app.BareHandler, which leaves those layers out). The ratio of their
// throughputs is what the reliability layers cost.
//
// Each iteration is a load run of KEEL_BENCH_LOAD (default 500ms) with 16
// clients; run with -benchtime=5x -count=6 for figures.
func BenchmarkReliabilityOverhead(b *testing.B) {
	duration := 500 * time.Millisecond
	if s := os.Getenv("KEEL_BENCH_LOAD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("KEEL_BENCH_LOAD: %v", err)
		}
		duration = d
	}
	ctx := context.Background()
	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi-bench", DisableRuntimeMetrics: true})
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(ctx)
	gw, err := gateway.Start("127.0.0.1:0", gateway.Chaos{})
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	const key = "bench-admin-key-0123456789abcdef"
	keys, _ := app.ParseAPIKeys(key + "=admin")

	for _, route := range []struct {
		name string
		op   load.Op
	}{{"get_customer_cached", load.GetCustomer}, {"post_order", load.PostOrder}} {
		for _, bare := range []bool{false, true} {
			variant := "keel"
			if bare {
				variant = "bare"
			}
			b.Run(route.name+"/"+variant, func(b *testing.B) {
				a, err := app.New(ctx, app.Config{DataDir: b.TempDir(), APIKeys: keys, GatewayURL: gw.URL(),
					RateLimit: 1 << 30, MetricsHandler: tel.Handler()}, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer a.Close()
				handler := a.Handler()
				if bare {
					handler = app.BareHandler(a)
				}
				srv := httptest.NewServer(handler)
				defer srv.Close()
				var res *load.Result
				for b.Loop() {
					res, err = load.Run(ctx, load.Config{BaseURL: srv.URL, APIKey: key, Duration: duration,
						Concurrency: 16, Customers: 20, Mix: map[load.Op]int{route.op: 1}})
					if err != nil {
						b.Fatal(err)
					}
				}
				st := res.Routes[route.op]
				if st.Errors > 0 {
					b.Fatalf("%d errors in %d requests: %v", st.Errors, st.Requests, st.Status)
				}
				b.ReportMetric(res.Throughput(route.op), "req/s")
				b.ReportMetric(float64(st.P50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(st.P99.Microseconds()), "p99-µs")
			})
		}
	}
}
