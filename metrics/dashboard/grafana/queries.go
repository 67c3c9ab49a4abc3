package grafana

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Defaults for the zero fields of [Config] and [Forecast].
const (
	DefaultRateWindow = 5 * time.Minute
	DefaultHorizon    = time.Hour
	DefaultLookback   = time.Hour
)

// Config configures [Dashboard] and [Rules].
type Config struct {
	// Title of the Grafana dashboard. Default "Keel".
	Title string
	// RateWindow is the range of every rate() and quantile. Default 5 m.
	RateWindow time.Duration
	// Forecasts are alerted on with predict_linear, and shown on the
	// dashboard.
	Forecasts []Forecast
	// SaturationHorizon is how far ahead the saturation alerts look (a
	// bulkhead, a limiter or a database pool reaching its limit at the
	// growth predict_linear fits over SaturationLookback). Defaults one
	// hour each.
	SaturationHorizon, SaturationLookback time.Duration
}

// Forecast asks when a gauge reaches a threshold at its current growth.
type Forecast struct {
	// Metric is the OpenTelemetry name, e.g. "keel.ratelimit.in_flight";
	// it must be in the catalogue (see the package documentation).
	Metric string
	// Threshold is the value whose crossing is forecast.
	Threshold float64
	// Horizon is how far ahead: the alert fires when the line fitted over
	// Lookback crosses Threshold within Horizon. Default one hour.
	Horizon time.Duration
	// Lookback is the range the line is fitted over. Default one hour.
	Lookback time.Duration
}

func (c Config) resolve() (Config, error) {
	if c.Title == "" {
		c.Title = "Keel"
	}
	if c.RateWindow == 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.RateWindow < time.Second {
		return c, fmt.Errorf("grafana: Config.RateWindow %v is below one second", c.RateWindow)
	}
	if c.SaturationHorizon == 0 {
		c.SaturationHorizon = DefaultHorizon
	}
	if c.SaturationLookback == 0 {
		c.SaturationLookback = DefaultLookback
	}
	if c.SaturationHorizon < time.Second || c.SaturationLookback < time.Second {
		return c, fmt.Errorf("grafana: Config.SaturationHorizon and Config.SaturationLookback must be at least one second")
	}
	c.Forecasts = append([]Forecast(nil), c.Forecasts...)
	for i := range c.Forecasts {
		f := &c.Forecasts[i]
		if _, err := promName(f.Metric); err != nil {
			return c, fmt.Errorf("grafana: Config.Forecasts[%d].Metric: %w", i, err)
		}
		if math.IsNaN(f.Threshold) || math.IsInf(f.Threshold, 0) {
			return c, fmt.Errorf("grafana: Config.Forecasts[%d].Threshold must be a finite number", i)
		}
		if f.Horizon == 0 {
			f.Horizon = DefaultHorizon
		}
		if f.Lookback == 0 {
			f.Lookback = DefaultLookback
		}
		if f.Horizon < time.Second || f.Lookback < time.Second {
			return c, fmt.Errorf("grafana: Config.Forecasts[%d]: Horizon and Lookback must be at least one second", i)
		}
	}
	return c, nil
}

// CheckMetric reports whether metric is in the catalogue a Forecast may
// name, with an error listing the catalogue when it is not: for a caller
// (the keel CLI) that takes forecasts one by one and names its own flag.
func CheckMetric(metric string) error {
	_, err := promName(metric)
	return err
}

// query is one PromQL expression with what it shows.
type query struct {
	record string // recording rule name; empty when not recorded
	title  string
	unit   string // Grafana unit
	expr   string
	legend string
}

func rangeOf(d time.Duration) string { return model.Duration(d).String() }

// views are the dashboard's panels, in the page's order.
func views(c Config) []query {
	w := "[" + rangeOf(c.RateWindow) + "]"
	win := rangeOf(c.RateWindow)
	rate := func(metric, sel, by string) string {
		return fmt.Sprintf("sum by (%s) (rate(%s%s%s))", by, metric, sel, w)
	}
	httpS := must("http.server.request.duration")
	httpC := must("http.client.request.duration")
	db := must("db.client.operation.duration")
	bCalls := must("keel.breaker.calls")
	rCalls, rRetries := must("keel.retry.calls"), must("keel.retry.retries")
	route := "http_request_method, http_route"
	return []query{
		{"", "Health checks failing", "none", must("keel.health.check.status") + `{keel_health_status="fail"} == 1`, "{{keel_health_check}}"},
		{"", "Alerts firing", "none", must("keel.alert.firing") + " == 1", "{{keel_alert_rule}} ({{keel_alert_severity}})"},
		{"keel:breaker_open:max", "Breakers open (1 open, 0 closed)", "none",
			"max by (keel_breaker_name) (" + must("keel.breaker.state") + `{keel_breaker_state=~"open|forced-open"})`, "{{keel_breaker_name}}"},
		{"keel:breaker_failure_ratio:rate" + win, "Breaker failure ratio", "percentunit",
			rate(bCalls, `{keel_breaker_outcome="failure"}`, "keel_breaker_name") + " / " + rate(bCalls, `{keel_breaker_outcome=~"success|failure"}`, "keel_breaker_name"),
			"{{keel_breaker_name}}"},
		{"", "Breaker rejections", "reqps", rate(must("keel.breaker.rejections"), "", "keel_breaker_name"), "{{keel_breaker_name}}"},
		{"keel:retry_amplification:rate" + win, "Retry amplification ((calls + retries) / calls)", "none",
			"(" + rate(rCalls, "", "keel_retry_name") + " + " + rate(rRetries, "", "keel_retry_name") + ") / " + rate(rCalls, "", "keel_retry_name"),
			"{{keel_retry_name}}"},
		{"", "Rate limited", "reqps", rate(must("keel.ratelimit.decisions"), `{keel_ratelimit_decision="limited"}`, "keel_ratelimit_name"), "{{keel_ratelimit_name}}"},
		{"", "Bulkheads in flight", "none", "sum by (keel_ratelimit_name) (" + must("keel.ratelimit.in_flight") + ")", "{{keel_ratelimit_name}}"},
		{"", "Bulkheads queued", "none", "sum by (keel_ratelimit_name) (" + must("keel.ratelimit.queued") + ")", "{{keel_ratelimit_name}}"},
		{"keel:http_route_requests:rate" + win, "HTTP requests per route", "reqps", rate(httpS+"_count", "", route), "{{http_request_method}} {{http_route}}"},
		{"keel:http_route_error_ratio:rate" + win, "HTTP error ratio per route", "percentunit",
			rate(httpS+"_count", `{http_response_status_code=~"5.."}`, route) + " / " + rate(httpS+"_count", "", route),
			"{{http_request_method}} {{http_route}}"},
		{"keel:http_route_p99:rate" + win, "HTTP p99 per route", "s",
			"histogram_quantile(0.99, " + rate(httpS+"_bucket", "", "le, "+route) + ")", "{{http_request_method}} {{http_route}}"},
		{"keel:http_route_busy_seconds:rate" + win, "Bottleneck: time spent per route (rate × mean latency)", "s",
			"topk(10, " + rate(httpS+"_sum", "", route) + ")", "{{http_request_method}} {{http_route}}"},
		{"", "Bottleneck: slowest dependencies (p99)", "s",
			"topk(10, histogram_quantile(0.99, " + rate(httpC+"_bucket", "", "le, server_address") + "))", "{{server_address}}"},
		{"", "Bottleneck: SQL statements by time spent", "s",
			"topk(10, " + rate(db+"_sum", "", "db_system_name, db_query_summary") + ")", "{{db_system_name}}: {{db_query_summary}}"},
		{"", "Slow SQL statements", "ops", rate(must("keel.sqlmetrics.slow_queries"), "", "db_query_summary"), "{{db_query_summary}}"},
		{"", "Cache hit ratio", "percentunit",
			rate(must("keel.cache.requests"), `{keel_cache_result="hit"}`, "keel_cache_name") + " / " + rate(must("keel.cache.requests"), "", "keel_cache_name"),
			"{{keel_cache_name}}"},
		{"", "Redis degraded (cache)", "none", must("keel.cache.redis.degraded"), "{{keel_cache_name}}"},
		{"", "Idempotent replays", "reqps", rate(must("keel.idempotency.begins"), `{keel_idempotency_result="replay"}`, "keel_idempotency_result"), "replays"},
		{"", "Audit queue", "none", must("keel.audit.queue.length"), "queue"},
		{"", "Age of the last successful backup", "s", "time() - " + must("keel.backup.last_success"), "{{keel_backup_driver}}"},
		{"", "Go memory used", "bytes", "sum(" + must("go.memory.used") + ")", "used"},
		{"", "CPU (cores)", "none", "sum(rate(" + must("process.cpu.time") + w + "))", "cores"},
	}
}

// forecastQueries are, per forecast, the predicted value at the horizon and
// the alert condition.
func forecastQueries(c Config) []query {
	var out []query
	for _, f := range c.Forecasts {
		name := must(f.Metric)
		pred := fmt.Sprintf("predict_linear(%s[%s], %s)", name, rangeOf(f.Lookback), strconv.FormatFloat(f.Horizon.Seconds(), 'f', -1, 64))
		out = append(out, query{
			record: "keel:" + name + ":predict_linear_" + rangeOf(f.Horizon),
			title:  fmt.Sprintf("Forecast: %s in %s (threshold %s)", f.Metric, rangeOf(f.Horizon), strconv.FormatFloat(f.Threshold, 'g', -1, 64)),
			unit:   "none",
			expr:   pred,
		})
	}
	return out
}

// alertName is a forecast's alert: KeelForecast_<prometheus name>.
func alertName(f Forecast) string {
	return "KeelForecast_" + strings.TrimPrefix(must(f.Metric), "keel_")
}

// saturation is a resource whose use predict_linear forecasts against its
// limit: expr is the forecast use as a share of the limit.
type saturation struct {
	alert string
	query query
}

// saturationQueries forecast, per bulkhead, limiter and database pool, the
// use SaturationHorizon ahead as a share of the limit (1 = saturated), as
// metrics/dashboard's Snapshot.Saturations does in process.
func saturationQueries(c Config) []saturation {
	look, ahead := rangeOf(c.SaturationLookback), strconv.FormatFloat(c.SaturationHorizon.Seconds(), 'f', -1, 64)
	horizon := rangeOf(c.SaturationHorizon)
	rl := "job, instance, keel_ratelimit_name"
	pool := "job, instance, db_client_connection_pool_name"
	allowed := fmt.Sprintf(`sum by (%s) (rate(%s{keel_ratelimit_decision="allowed"}[%s]))`, rl, must("keel.ratelimit.decisions"), rangeOf(c.RateWindow))
	return []saturation{
		{"KeelSaturation_bulkhead", query{
			record: "keel:bulkhead_saturation:predict_linear_" + horizon,
			title:  "Saturation forecast: bulkhead in flight in " + horizon + " / MaxInFlight", unit: "percentunit",
			expr:   fmt.Sprintf("predict_linear(%s[%s], %s) / on (%s) %s", must("keel.ratelimit.in_flight"), look, ahead, rl, must("keel.ratelimit.max_in_flight")),
			legend: "{{keel_ratelimit_name}}",
		}},
		{"KeelSaturation_rate_limit", query{
			record: "keel:ratelimit_saturation:predict_linear_" + horizon,
			title:  "Saturation forecast: allowed rate in " + horizon + " / limit", unit: "percentunit",
			expr:   fmt.Sprintf("predict_linear(%s[%s:1m], %s) / on (%s) %s", allowed, look, ahead, rl, must("keel.ratelimit.rate")),
			legend: "{{keel_ratelimit_name}}",
		}},
		{"KeelSaturation_db_pool", query{
			record: "keel:db_pool_saturation:predict_linear_" + horizon,
			title:  "Saturation forecast: database connections in use in " + horizon + " / max open", unit: "percentunit",
			expr: fmt.Sprintf(`predict_linear(%s{db_client_connection_state="used"}[%s], %s) / on (%s) %s`,
				must("db.client.connection.count"), look, ahead, pool, must("db.client.connection.max")),
			legend: "{{db_client_connection_pool_name}}",
		}},
	}
}
