package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/dashboard"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Routes measured by metrics.Middleware and dependencies by
// metrics.Transport are ranked by total time and by p99: a fast route called
// often occupies the service more than a slow one called rarely.
func TestBottlenecksRankRoutesAndDependencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{Interval: time.Second, RateWindow: 10 * time.Second})
		mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /slow", func(http.ResponseWriter, *http.Request) { time.Sleep(400 * time.Millisecond) })
		mux.HandleFunc("GET /busy", func(http.ResponseWriter, *http.Request) { time.Sleep(20 * time.Millisecond) })
		mux.HandleFunc("GET /idle", func(http.ResponseWriter, *http.Request) {})
		h := mw.Wrap(mux)
		latency := map[string]time.Duration{"fast.example": 5 * time.Millisecond, "slow.example": 300 * time.Millisecond}
		tr, err := metrics.NewTransport(metrics.TransportConfig{MeterProvider: mp, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(latency[r.URL.Hostname()]) // the fake clock: exactly this long
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})})
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Transport: tr}
		get := func(path string) { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil)) }
		get("/idle") // seen, but before the window's first sample
		time.Sleep(time.Second)
		synctest.Wait()
		for range 2 { // 0.8 s in total
			get("/slow")
		}
		for range 100 { // 2 s in total
			get("/busy")
		}
		for _, host := range []string{"fast.example", "slow.example"} {
			resp, err := client.Get("http://" + host + "/")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
		time.Sleep(time.Second)
		synctest.Wait()

		b := d.Snapshot().Bottlenecks
		names := func(cs []dashboard.Cost) []string {
			var out []string
			for _, c := range cs {
				out = append(out, c.Name)
			}
			return out
		}
		if got := names(b.RoutesByTotalTime); len(got) != 2 || got[0] != "GET /busy" || got[1] != "GET /slow" {
			t.Errorf("routes by total time %v, want [GET /busy GET /slow] (the idle route had no traffic in the window)", got)
		}
		if got := names(b.RoutesByP99); len(got) != 2 || got[0] != "GET /slow" {
			t.Errorf("routes by p99 %v, want GET /slow first", got)
		}
		busy := b.RoutesByTotalTime[0]
		// 100 requests of exactly 20 ms: mean 20 ms, and the time they took
		// over the seconds the window spans.
		if m := float64(busy.MeanSeconds); m < 0.0199 || m > 0.0201 {
			t.Errorf("/busy mean %v s, want 0.020", m)
		}
		if got, want := float64(busy.BusySeconds), float64(busy.PerSecond)*float64(busy.MeanSeconds); got < want*0.999 || got > want*1.001 {
			t.Errorf("/busy busy s/s %v, want rate × mean = %v", got, want)
		}
		if p := float64(b.RoutesByP99[0].P99); p <= 0.25 || p > 0.5 {
			t.Errorf("/slow p99 %v, want in its bucket (0.25, 0.5]", p)
		}
		if got := names(b.SlowestDependencies); len(got) != 2 || got[0] != "slow.example:80" || got[1] != "fast.example:80" {
			t.Errorf("slowest dependencies %v, want [slow.example:80 fast.example:80]", got)
		}
	})
}
