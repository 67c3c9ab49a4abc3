package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/internal/promtool"
	"github.com/keel-go/keel/metrics/sqlmetrics"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/retry"
	"github.com/prometheus/otlptranslator"
	_ "modernc.org/sqlite"
)

var testConfig = Config{Forecasts: []Forecast{
	{Metric: "keel.ratelimit.in_flight", Threshold: 64},
	{Metric: "go.memory.used", Threshold: 1 << 30, Horizon: 4 * time.Hour},
}}

func checkRules(t *testing.T, rules []byte) {
	t.Helper()
	bin := promtool.Path(t)
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, rules, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, rules)
	}
}

// The rule file, and every expression of the Grafana dashboard written as a
// recording rule, pass promtool.
func TestPromtoolAcceptsRulesAndDashboardExpressions(t *testing.T) {
	rules, err := Rules(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"predict_linear(keel_ratelimit_in_flight[1h], 3600) > 64", "alert: KeelForecast_ratelimit_in_flight",
		"predict_linear(go_memory_used_bytes[1h], 14400)", "record: keel:http_route_p99:rate5m",
		"predict_linear(keel_ratelimit_in_flight[1h], 3600) / on (job, instance, keel_ratelimit_name) keel_ratelimit_max_in_flight",
		`predict_linear(db_client_connections{db_client_connection_state=\"used\"}[1h], 3600) / on (job, instance, db_client_connection_pool_name) db_client_connection_max`,
		"alert: KeelSaturation_rate_limit", "keel:bulkhead_saturation:predict_linear_1h >= 1"} {
		if !strings.Contains(string(rules), want) {
			t.Errorf("rules lack %q:\n%s", want, rules)
		}
	}
	checkRules(t, rules)

	dash, err := Dashboard(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &doc); err != nil {
		t.Fatal(err)
	}
	var asRules strings.Builder
	asRules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range doc.Panels {
		for _, tg := range p.Targets {
			n++
			asRules.WriteString("      - record: keel:panel" + strconv.Itoa(n) + "\n        expr: " + strconv.Quote(tg.Expr) + "\n")
		}
	}
	if n < 20 {
		t.Fatalf("%d expressions in the dashboard, want every view", n)
	}
	checkRules(t, []byte(asRules.String()))
}

// The names the catalogue translates to are the names a real scrape of
// metrics.Setup's /metrics exposes, for every instrument this test makes
// Keel emit.
func TestCatalogueMatchesRealScrape(t *testing.T) {
	ctx := context.Background()
	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "dash20-grafana"})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(ctx)
	mp := tel.MeterProvider()
	b, err := breaker.New(breaker.Config{Name: "payments", ConsecutiveFailures: 1, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(ctx, func(context.Context) error { return errors.New("down") })
	_ = b.Do(ctx, func(context.Context) error { return nil })
	p, err := retry.New(retry.Config{Name: "payments", MaxAttempts: 2, Backoff: retry.Constant{Delay: time.Millisecond}, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = p.Do(ctx, func(context.Context) error {
		if n++; n == 1 {
			return errors.New("once")
		}
		return nil
	})
	bh, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{Name: "db", MaxInFlight: 2, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	_ = bh.Do(ctx, func(context.Context) error { return nil })
	lim, err := ratelimit.New(ratelimit.Config{Name: "api", Limit: 10, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	slow, err := breaker.New(breaker.Config{Name: "slow", FailureRate: 1, SlowCallRate: 1, SlowCallDuration: time.Nanosecond, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	_ = slow.Do(ctx, func(context.Context) error { time.Sleep(time.Millisecond); return nil })
	budget, err := retry.NewBudget(retry.BudgetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	budgeted, err := retry.New(retry.Config{Name: "budgeted", Budget: budget, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlmetrics.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "scrape.db"), sqlmetrics.Config{
		System: "sqlite", PoolName: "orders", MeterProvider: mp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	mw, err := metrics.NewMiddleware(metrics.MiddlewareConfig{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/orders", func(http.ResponseWriter, *http.Request) {})
	mw.Wrap(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/orders", nil))

	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	scrape := string(body)
	for _, name := range []string{"keel.breaker.state", "keel.breaker.calls", "keel.breaker.rejections", "keel.retry.calls",
		"keel.retry.retries", "keel.ratelimit.in_flight", "keel.ratelimit.queued", "http.server.request.duration",
		"go.memory.used", "process.cpu.time", "keel.ratelimit.max_in_flight", "keel.ratelimit.rate", "keel.breaker.slow_calls",
		"keel.retry.budget.tokens", "keel.retry.budget.threshold", "db.client.connection.count", "db.client.connection.max"} {
		prom := must(name)
		if catalogue[name].typ == otlptranslator.MetricTypeHistogram {
			prom += "_bucket"
		}
		if !strings.Contains(scrape, "\n"+prom+"{") && !strings.Contains(scrape, "\n"+prom+" ") {
			t.Errorf("%s is %s in the catalogue, but the scrape has no such series", name, prom)
		}
	}
	runtime.KeepAlive(budgeted)
	for _, label := range []string{`keel_breaker_name="payments"`, `http_route="/v1/orders"`, `keel_ratelimit_name="db"`,
		`db_client_connection_pool_name="orders"`, `db_client_connection_state="used"`} {
		if !strings.Contains(scrape, label) {
			t.Errorf("the scrape lacks the label %s the queries group by", label)
		}
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Forecasts: []Forecast{{Metric: "nope"}}}, `Config.Forecasts[0].Metric: grafana: metric "nope" is not in the catalogue`},
		{Config{RateWindow: time.Millisecond}, "Config.RateWindow"},
		{Config{Forecasts: []Forecast{{Metric: "go.memory.used", Horizon: -time.Hour}}}, "Horizon and Lookback"},
	} {
		if _, err := Rules(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Rules(%+v) = %v, want an error naming %q", c.cfg, err, c.want)
		}
		if _, err := Dashboard(c.cfg); err == nil {
			t.Errorf("Dashboard(%+v) accepted", c.cfg)
		}
	}
}

// Every catalogued name translates (must never panics on it).
func TestEveryCatalogueEntryTranslates(t *testing.T) {
	for _, n := range catalogueNames() {
		if _, err := promName(n); err != nil {
			t.Error(err)
		}
	}
}
