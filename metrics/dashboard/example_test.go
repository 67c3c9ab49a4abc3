package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/dashboard"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Mount the dashboard of a service whose telemetry metrics.Setup installs,
// and read its JSON API.
func Example() {
	ctx := context.Background()
	dash, err := dashboard.New(dashboard.Config{
		Interval: 100 * time.Millisecond,
		// A real service checks a role here.
		Authorize: func(r *http.Request) bool { return r.Header.Get("X-Role") == "admin" },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dash.Close()
	tel, err := metrics.Setup(ctx, metrics.Config{
		DisableGlobal:     true,
		DisablePrometheus: true,
		Readers:           []sdkmetric.Reader{dash.Reader()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Shutdown(ctx)

	payments, _ := breaker.New(breaker.Config{Name: "payments", ConsecutiveFailures: 2, MeterProvider: tel.MeterProvider()})
	for range 3 {
		_ = payments.Do(ctx, func(context.Context) error { return errors.New("gateway down") })
	}

	mux := http.NewServeMux()
	mux.Handle("/admin/dashboard/", dash)
	// Wait for a sample taken after the failures.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s := dash.Snapshot(); len(s.Breakers) == 1 && s.Breakers[0].State == "open" {
			break
		}
	}
	s := dash.Snapshot()
	fmt.Println(s.Breakers[0].Name, s.Breakers[0].State, s.Breakers[0].Transitions)

	req := httptest.NewRequest(http.MethodGet, "/admin/dashboard/api", nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println("without the role:", rec.Code)
	// Output:
	// payments open 1
	// without the role: 403
}
