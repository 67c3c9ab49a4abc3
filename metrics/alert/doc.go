// Package alert evaluates threshold rules over the metrics the
// OpenTelemetry SDK has collected, inside the service, and sends firing and
// resolved alerts to notifiers (slog, a webhook). The same rules export as a
// Prometheus rule file, for teams whose Prometheus scrapes /metrics.
//
// A rule is a [Condition] with a name, a severity and a For duration:
//
//   - [ErrorRatio]: the share of requests with error.type over a window
//     (5xx > 5 % over 5 min), from the http.server.request.duration
//     histogram that metrics.Middleware records;
//   - [LatencyQuantile]: a quantile of a histogram over a window, estimated
//     from its buckets as Prometheus' histogram_quantile does (p99 > 5 s);
//   - [Threshold]: a gauge or up-down counter above or below a value (a
//     breaker open, a backup too old, a queue too long).
//
// Wiring: give the MeterProvider a dedicated ManualReader and the evaluator
// the same reader.
//
//	reader := sdkmetric.NewManualReader()
//	tel, _ := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi", Readers: []sdkmetric.Reader{reader}})
//	ev, _ := alert.New(alert.Config{
//		Source:    reader,
//		Rules:     []alert.Rule{{Name: "HighErrorRatio", Severity: alert.SeverityCritical, For: 5 * time.Minute,
//			Condition: alert.ErrorRatio{Above: 0.05}}},
//		Notifiers: []alert.Notifier{alert.SlogNotifier{Logger: logger}, webhook},
//	})
//	defer ev.Close()
//
// # Evaluation
//
// Every Interval (15 s by default) the evaluator collects once and steps
// each rule: inactive → pending when the condition holds → firing once it
// has held for For → resolved (and inactive) when it stops holding. Only
// firing and resolved are notified; RepeatInterval re-sends a firing alert.
// Windows are computed from the cumulative totals: the growth since the
// newest evaluation at least Window old (or since the counters began, if
// that is inside the window). No data (no series, or no request in the
// window) never holds, so silence resolves an alert rather than firing one.
//
// # Guarantees
//
//   - Concurrency: the evaluator runs on one goroutine, which Close stops
//     (cancelling a notification in flight); Alerts is safe to call at any
//     time.
//   - Faults: a failed collection skips the round (counted in
//     keel.alert.evaluations and logged); a failing notifier does not stop
//     the others; the webhook retries network errors, 429 and 5xx with
//     jittered exponential backoff and a per-attempt timeout.
//   - Bad input: New, NewWebhook and PrometheusRules return an error naming
//     the field; nothing panics.
//   - Secrets: the webhook URL and headers never appear in errors or logs.
//   - Time: only time.Now and timers, so tests drive it with testing/synctest.
//
// # Webhook payload
//
// POST, Content-Type application/json:
//
//	{"version":"1","status":"firing"|"resolved","alert":{"rule":"…","severity":"critical"|"warning"|"info",
//	 "summary":"…","value":0.09,"threshold":0.05,"activeSince":RFC3339,"firedAt":RFC3339,"resolvedAt":RFC3339}}
//
// value is null when there was no data; firedAt and resolvedAt are absent
// until they happen.
package alert
