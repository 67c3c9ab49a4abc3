package dashboard_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/metrics/alert"
	"github.com/keel-go/keel/metrics/dashboard"
	"github.com/keel-go/keel/metrics/health"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// A real metrics/health registry and metrics/alert evaluator on the same
// MeterProvider: their checks' statuses and firing alerts reach the
// dashboard through their metrics, with no API coupling.
func TestHealthChecksAndFiringAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var gatewayDown atomic.Bool
		gatewayDown.Store(true)
		d, err := dashboard.New(dashboard.Config{Public: true})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		alertReader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(d.Option(), sdkmetric.WithReader(alertReader))
		defer mp.Shutdown(context.Background())

		reg, err := health.New(health.Config{MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		for _, c := range []health.Check{
			{Name: "postgres", Interval: time.Second, Func: func(context.Context) error { return nil }},
			{Name: "gateway", Interval: time.Second, Func: func(context.Context) error {
				if gatewayDown.Load() {
					return errors.New("down")
				}
				return nil
			}},
		} {
			if err := reg.Register(c); err != nil {
				t.Fatal(err)
			}
		}

		b, err := breaker.New(breaker.Config{Name: "payments", ConsecutiveFailures: 1, OpenDuration: time.Hour, MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
		ev, err := alert.New(alert.Config{Source: alertReader, Interval: time.Second, MeterProvider: mp,
			Rules: []alert.Rule{{Name: "PaymentsBreakerOpen", Severity: alert.SeverityCritical,
				Condition: alert.Threshold{Metric: "keel.breaker.state", Value: 0.5,
					Match: alert.Match{"keel.breaker.name": "payments", "keel.breaker.state": "open"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		defer ev.Close()

		time.Sleep(2 * dashboard.DefaultInterval)
		synctest.Wait()
		s := d.Snapshot()
		first := start.Add(dashboard.DefaultInterval) // the first sample
		want := []dashboard.HealthCheck{{Name: "gateway", Status: "fail", Since: first}, {Name: "postgres", Status: "pass", Since: first}}
		if len(s.Health) != 2 || s.Health[0] != want[0] || s.Health[1] != want[1] {
			t.Errorf("health %+v, want %+v", s.Health, want)
		}
		if len(s.Alerts) != 1 || s.Alerts[0] != (dashboard.Alert{Rule: "PaymentsBreakerOpen", Severity: "critical"}) {
			t.Errorf("alerts %+v, want PaymentsBreakerOpen critical", s.Alerts)
		}
		page := getPage(t, d).Body.String()
		for _, s := range []string{`<td class="bad">fail</td>`, `<td class="bad">PaymentsBreakerOpen</td>`, `<td class="ok">pass</td>`} {
			if !contains(page, s) {
				t.Errorf("page lacks %s", s)
			}
		}

		// The gateway recovers: its status changes, and so does since-when
		// (the first sample after the check saw it pass), while postgres
		// keeps its.
		gatewayDown.Store(false)
		time.Sleep(2 * dashboard.DefaultInterval)
		synctest.Wait()
		recovered := start.Add(3 * dashboard.DefaultInterval)
		s = d.Snapshot()
		want = []dashboard.HealthCheck{{Name: "gateway", Status: "pass", Since: recovered}, {Name: "postgres", Status: "pass", Since: first}}
		if len(s.Health) != 2 || s.Health[0] != want[0] || s.Health[1] != want[1] {
			t.Errorf("after recovery health %+v, want %+v", s.Health, want)
		}
	})
}
