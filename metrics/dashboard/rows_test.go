package dashboard_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/dashboard"
	"github.com/keel-go/keel/retry"
)

// A breaker timing its calls and a retry policy with a budget, both real:
// the breaker row shows the share of slow calls, the retry row the budget
// draining to exhausted.
func TestSlowCallsAndRetryBudgetRows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{})
		b, err := breaker.New(breaker.Config{Name: "ledger", FailureRate: 1, MinimumCalls: 100,
			SlowCallRate: 1, SlowCallDuration: time.Second, MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 10})
		if err != nil {
			t.Fatal(err)
		}
		p, err := retry.New(retry.Config{Name: "ledger", MaxAttempts: 4, Backoff: retry.Constant{}, Budget: budget, MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		time.Sleep(dashboard.DefaultInterval)
		synctest.Wait()
		doc := getAPI(t, d)
		rm := doc["retries"].([]any)[0].(map[string]any)
		if rm["budget_tokens"] != 10.0 || rm["budget_threshold"] != 5.0 || rm["budget_remaining"] != 5.0 || rm["budget_exhausted"] != false {
			t.Errorf("fresh budget %v, want 10 tokens, threshold 5, 5 remaining, not exhausted", rm)
		}

		for i := range 4 { // one call in four takes 2 s
			d := 100 * time.Millisecond
			if i == 0 {
				d = 2 * time.Second
			}
			_ = b.Do(ctx, func(context.Context) error { time.Sleep(d); return nil })
		}
		for range 3 { // every attempt fails: the budget pays for retries until it is down to half
			_ = p.Do(ctx, func(context.Context) error { return errDown })
		}
		time.Sleep(dashboard.DefaultInterval)
		synctest.Wait()

		doc = getAPI(t, d)
		bm := doc["breakers"].([]any)[0].(map[string]any)
		if bm["slow_call_ratio"] != 0.25 {
			t.Errorf("slow call ratio %v, want 1 of 4", bm["slow_call_ratio"])
		}
		rm = doc["retries"].([]any)[0].(map[string]any)
		if rm["budget_exhausted"] != true || rm["budget_remaining"] != 0.0 || rm["budget_tokens"].(float64) > 5 {
			t.Errorf("drained budget %v, want exhausted with nothing remaining", rm)
		}
		if rm["window_budget_exhausted"].(float64) < 1 {
			t.Errorf("calls refused by the budget in the window: %v, want at least one", rm["window_budget_exhausted"])
		}
		page := getPage(t, d).Body.String()
		for _, want := range []string{"<th>slow-call ratio</th>", `<td class="bad">exhausted</td>`, "<th>retries left in budget</th>"} {
			if !contains(page, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
	})
}

// A route whose request rate grows by one request per second every second,
// and whose latency grows by 1 ms every second (a sample every second, fake
// clock): the route's growth shows both, with a band around them.
func TestRouteGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, mp := newDashboard(t, dashboard.Config{Interval: time.Second, RateWindow: 10 * time.Second})
		mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		var latency time.Duration
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/orders", func(http.ResponseWriter, *http.Request) { time.Sleep(latency) })
		h := mw.Wrap(mux)
		start := time.Now()
		for k := 1; k <= 20; k++ {
			// k requests of k ms each (at most 0.4 s): all within the
			// second before the k-th sample.
			latency = time.Duration(k) * time.Millisecond
			for range k {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/orders", nil))
			}
			time.Sleep(time.Until(start.Add(time.Duration(k) * time.Second)))
			synctest.Wait()
		}
		r := d.Snapshot().Routes[0]
		if g := r.RateGrowth; !near(g.PerSecond, 1, 1e-9) || !(g.Low <= g.PerSecond && g.PerSecond <= g.High) || !near(g.Current, 20, 1e-9) {
			t.Errorf("rate growth %+v, want 1 request/s more each second, now 20/s", g)
		}
		if g := r.LatencyGrowth; !near(g.PerSecond, 0.001, 1e-9) || !(g.Low <= g.PerSecond && g.PerSecond <= g.High) {
			t.Errorf("latency growth %+v, want 0.001 s/s (1 ms more each second)", g)
		}
		if r.RateGrowth.Points != 19 {
			t.Errorf("rate growth over %d points, want 19 (the first sample has no rate)", r.RateGrowth.Points)
		}
	})
}

func near(n dashboard.Number, want, tolerance float64) bool {
	return n.Valid() && math.Abs(float64(n)-want) <= tolerance
}
