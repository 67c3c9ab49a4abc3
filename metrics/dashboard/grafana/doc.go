// Package grafana writes, for teams that already run Prometheus and
// Grafana, the same view as metrics/dashboard: a Grafana dashboard (JSON)
// and a Prometheus rule file with recording rules for the dashboard's
// derived series and alert rules that forecast saturation with
// predict_linear.
//
//	json, err := grafana.Dashboard(grafana.Config{})
//	rules, err := grafana.Rules(grafana.Config{Forecasts: []grafana.Forecast{
//		{Metric: "keel.ratelimit.in_flight", Threshold: 64},
//	}})
//
// Metric names come from one catalogue of the instruments docs/METRICS.md
// lists, translated to Prometheus names exactly as the otel Prometheus
// exporter behind metrics.Setup translates them (go.memory.used in By
// becomes go_memory_used_bytes, and db.client.connection.count is renamed
// db_client_connections as metrics.Setup's exposition does).
//
// Every rule file also has a group keel-saturation: per bulkhead, rate
// limiter and database pool, the use predict_linear forecasts
// Config.SaturationHorizon ahead (fitted over Config.SaturationLookback,
// one hour each by default) as a share of the resource's own limit
// (keel.ratelimit.max_in_flight, keel.ratelimit.rate,
// db.client.connection.max), recorded, shown on the dashboard, and alerted
// on when it reaches 1. Disks are not in it: node_exporter's
// node_filesystem_avail_bytes is the Prometheus source for them
// (metrics/dashboard forecasts Config.DiskPaths in process).
//
// # Guarantees
//
//   - Every PromQL expression in both outputs passes `promtool check
//     rules`, and every metric an expression reads is one a real scrape of
//     metrics.Setup's /metrics exposes once the primitive that emits it runs
//     (tested against a scrape of breakers, retries with a budget, rate
//     limits, a bulkhead, a metrics/sqlmetrics pool, the HTTP middleware
//     and the runtime).
//   - Output is deterministic: the same Config gives the same bytes.
//   - Bad input: a forecast of a metric outside the catalogue, a threshold
//     that is not finite, or a non-positive horizon is an error naming it.
package grafana
