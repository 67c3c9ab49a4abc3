package grafana

import (
	"fmt"
	"sort"

	"github.com/prometheus/otlptranslator"
)

// instrument is one OpenTelemetry instrument the views read.
type instrument struct {
	unit string
	typ  otlptranslator.MetricType
}

// catalogue lists the instruments of docs/METRICS.md that the dashboard
// and the rules read, with the unit and type that decide their Prometheus
// name.
var catalogue = map[string]instrument{
	"http.server.request.duration": {"s", otlptranslator.MetricTypeHistogram},
	"http.client.request.duration": {"s", otlptranslator.MetricTypeHistogram},
	"db.client.operation.duration": {"s", otlptranslator.MetricTypeHistogram},
	"keel.breaker.state":           {"1", otlptranslator.MetricTypeGauge},
	"keel.breaker.calls":           {"{call}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.breaker.rejections":      {"{call}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.retry.calls":             {"{call}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.retry.retries":           {"{retry}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.ratelimit.decisions":     {"{decision}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.ratelimit.in_flight":     {"{call}", otlptranslator.MetricTypeGauge},
	"keel.ratelimit.queued":        {"{call}", otlptranslator.MetricTypeGauge},
	"keel.ratelimit.max_in_flight": {"{call}", otlptranslator.MetricTypeGauge},
	"keel.ratelimit.rate":          {"{decision}/s", otlptranslator.MetricTypeGauge},
	"keel.breaker.slow_calls":      {"{call}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.retry.budget.tokens":     {"{token}", otlptranslator.MetricTypeGauge},
	"keel.retry.budget.threshold":  {"{token}", otlptranslator.MetricTypeGauge},
	"db.client.connection.count":   {"{connection}", otlptranslator.MetricTypeNonMonotonicCounter},
	"db.client.connection.max":     {"{connection}", otlptranslator.MetricTypeNonMonotonicCounter},
	"keel.cache.requests":          {"{request}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.cache.redis.degraded":    {"1", otlptranslator.MetricTypeGauge},
	"keel.audit.queue.length":      {"{event}", otlptranslator.MetricTypeGauge},
	"keel.backup.last_success":     {"s", otlptranslator.MetricTypeGauge},
	"keel.sqlmetrics.slow_queries": {"{operation}", otlptranslator.MetricTypeMonotonicCounter},
	"go.memory.used":               {"By", otlptranslator.MetricTypeNonMonotonicCounter},
	"process.cpu.time":             {"s", otlptranslator.MetricTypeMonotonicCounter},
	"keel.idempotency.begins":      {"{begin}", otlptranslator.MetricTypeMonotonicCounter},
	"keel.health.check.status":     {"{status}", otlptranslator.MetricTypeGauge},
	"keel.alert.firing":            {"{alert}", otlptranslator.MetricTypeGauge},
}

var metricNamer = otlptranslator.NewMetricNamer("", otlptranslator.UnderscoreEscapingWithSuffixes)

// promName is the Prometheus name of a catalogued instrument.
func promName(name string) (string, error) {
	in, ok := catalogue[name]
	if !ok {
		return "", fmt.Errorf("grafana: metric %q is not in the catalogue (one of %v)", name, catalogueNames())
	}
	prom, err := metricNamer.Build(otlptranslator.Metric{Name: name, Unit: in.unit, Type: in.typ})
	if renamed, ok := exposedAs[prom]; ok {
		prom = renamed
	}
	return prom, err
}

// exposedAs are the names metrics.Setup's exposition renames (see
// metrics/exposition.go: a gauge ending in _count fails promtool check
// metrics); the scrape test checks them.
var exposedAs = map[string]string{"db_client_connection_count": "db_client_connections"}

// must is promName for the names this package writes itself: all are in
// the catalogue (a test checks every one).
func must(name string) string {
	n, err := promName(name)
	if err != nil {
		panic(err)
	}
	return n
}

func catalogueNames() []string {
	out := make([]string, 0, len(catalogue))
	for n := range catalogue {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
