package dashboard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/dashboard"
	"github.com/keel-go/keel/retry"
)

var errDown = errors.New("dependency down")

// Real Keel primitives report through the dashboard's reader: a breaker that
// opened and a retry policy that retried show up in the JSON.
func TestBreakerAndRetryStateInJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{})
		b, err := breaker.New(breaker.Config{Name: "payments", ConsecutiveFailures: 3, OpenDuration: time.Hour, MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		p, err := retry.New(retry.Config{Name: "payments", MaxAttempts: 3, MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		time.Sleep(dashboard.DefaultInterval) // a first sample: breaker closed
		synctest.Wait()
		if got := getAPI(t, d)["breakers"].([]any)[0].(map[string]any)["state"]; got != "closed" {
			t.Fatalf("state before failures: %v, want closed", got)
		}

		for range 2 { // each call fails twice, then succeeds: 2 retries per call
			n := 0
			if err := p.Do(ctx, func(context.Context) error {
				if n++; n < 3 {
					return errDown
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		for range 5 {
			_ = b.Do(ctx, func(context.Context) error { return errDown })
		}
		time.Sleep(dashboard.DefaultInterval)
		synctest.Wait()

		doc := getAPI(t, d)
		br := doc["breakers"].([]any)
		if len(br) != 1 {
			t.Fatalf("breakers: %v", br)
		}
		bm := br[0].(map[string]any)
		if bm["name"] != "payments" || bm["state"] != "open" {
			t.Errorf("breaker %v, want payments open", bm)
		}
		if bm["transitions"] != 1.0 || bm["window_transitions"] != 1.0 {
			t.Errorf("transitions %v / in window %v, want 1 and 1", bm["transitions"], bm["window_transitions"])
		}
		if bm["failure_ratio"] != 1.0 {
			t.Errorf("failure ratio %v, want 1 (3 failures, no success)", bm["failure_ratio"])
		}
		// 2 calls were rejected while open, over the 5 s between the samples.
		if bm["rejections_per_second"] != 0.4 {
			t.Errorf("rejections/s %v, want 2/5 s = 0.4", bm["rejections_per_second"])
		}
		if h := bm["open_history"].([]any); len(h) != 2 || h[0] != 0.0 || h[1] != 1.0 {
			t.Errorf("open history %v, want [0 1]", h)
		}

		rt := doc["retries"].([]any)
		if len(rt) != 1 {
			t.Fatalf("retries: %v", rt)
		}
		rm := rt[0].(map[string]any)
		if rm["name"] != "payments" || rm["retries_per_second"] != 0.8 || rm["amplification"] != 3.0 {
			t.Errorf("retry %v, want 4 retries in 5 s (0.8/s) and amplification 3", rm)
		}
		if rm["window_gave_up"] != 0.0 {
			t.Errorf("gave up %v, want 0", rm["window_gave_up"])
		}
	})
}

// HTTP routes measured by metrics.Middleware: rate, error ratio and
// quantiles from the histogram buckets.
func TestRoutesFromMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{Interval: time.Second, RateWindow: 10 * time.Second})
		mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("id") == "bad" {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			time.Sleep(30 * time.Millisecond) // fake clock: exactly 30 ms
		})
		h := mw.Wrap(mux)
		time.Sleep(time.Second) // baseline sample
		synctest.Wait()
		for i := range 10 {
			id := "1"
			if i == 0 {
				id = "bad"
			}
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/orders/"+id, nil))
		}
		time.Sleep(time.Second)
		synctest.Wait()

		routes := d.Snapshot().Routes
		if len(routes) != 1 {
			t.Fatalf("routes %+v, want one", routes)
		}
		r := routes[0]
		if r.Method != "GET" || r.Route != "/v1/orders/{id}" {
			t.Errorf("route %s %s", r.Method, r.Route)
		}
		if float64(r.ErrorRatio) != 0.1 {
			t.Errorf("error ratio %v, want 0.1", r.ErrorRatio)
		}
		// 10 requests; the window reaches back to the baseline 1 s earlier
		// (the 300 ms of fake time the requests took included).
		if !r.RequestsPerSecond.Valid() || r.RequestsPerSecond <= 0 {
			t.Errorf("requests/s %v", r.RequestsPerSecond)
		}
		// 9 requests in the (0.025, 0.05] bucket and one in the first: the
		// median interpolates inside (0.025, 0.05].
		if p := float64(r.P50); p <= 0.025 || p > 0.05 {
			t.Errorf("p50 %v, want in (0.025, 0.05]", p)
		}
		if p := float64(r.P99); p <= 0.025 || p > 0.05 {
			t.Errorf("p99 %v, want in (0.025, 0.05]", p)
		}
	})
}

// A label value carrying markup is escaped on the page, which runs no
// inline script and has a strict Content-Security-Policy.
func TestHostileLabelIsEscaped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{})
		const hostile = `<script>alert("x")</script>`
		if _, err := breaker.New(breaker.Config{Name: hostile, MeterProvider: mp}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(dashboard.DefaultInterval)
		synctest.Wait()
		rec := getPage(t, d)
		body := rec.Body.String()
		if strings.Count(body, "<script") != 2 || strings.Contains(body, "<script>") { // only its own two, by src
			t.Fatalf("page contains a raw <script: %s", body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("page does not show the escaped name:\n%s", body)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'none'; script-src 'self'; ") || strings.Contains(csp, "unsafe") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
			"Content-Type": "text/html; charset=utf-8"} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
}

func TestAuthorizeAndMethods(t *testing.T) {
	d, err := dashboard.New(dashboard.Config{Authorize: func(r *http.Request) bool { return r.Header.Get("X-Admin") == "yes" }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		method, admin string
		want          int
	}{
		{http.MethodGet, "", http.StatusForbidden},
		{http.MethodGet, "yes", http.StatusOK},
		{http.MethodPost, "yes", http.StatusMethodNotAllowed},
		{http.MethodPost, "", http.StatusForbidden},
	} {
		for _, path := range []string{"/d/", "/d/api"} {
			req := httptest.NewRequest(c.method, path, nil)
			if c.admin != "" {
				req.Header.Set("X-Admin", c.admin)
			}
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Errorf("%s %s admin=%q: %d, want %d", c.method, path, c.admin, rec.Code, c.want)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s: no Cache-Control: no-store", c.method, path)
			}
		}
	}
}
