// Package detect finds anomalies in a live stream of audit events and
// delivers them to notifiers, apart from the audit log itself.
//
// A Detector runs rules — BruteForce (failed or denied actions per actor),
// BulkRead (records read or exported per actor), OutsideHours and NewIP, or
// your own Rule — over each event, and hands what they find to its
// Notifiers (SlogNotifier, Webhook, NotifierFunc) from a goroutine of its
// own, so that a slow webhook never slows logging. Give it to
// audit.Config.Observer and the Logger calls Observe with every event once
// it is persisted (with its sensitive fields already masked or HMAC'd), or
// call Observe yourself, for example to replay a log read with audit.Query:
// rules judge by the event's time, not the clock, so a replay finds what
// the live run found.
//
//	det, err := detect.New(detect.Config{
//		Rules:     []detect.Rule{&detect.BruteForce{Failures: 10, Window: time.Minute}},
//		Notifiers: []detect.Notifier{detect.SlogNotifier{Logger: logger}},
//	})
//	...
//	log, err := audit.New(audit.Config{Sinks: sinks, SigningKey: key, Observer: det})
//	defer det.Close() // after log.Close: the last events are still observed
//
// # Guarantees
//
//   - Concurrency: Detector and Webhook are safe for concurrent use. Rules
//     are called one event at a time, so a Rule need not be.
//   - Memory is bounded: each rule remembers at most MaxActors actors (and
//     NewIP MaxIPsPerActor addresses each), and at most Config.QueueSize
//     findings wait for delivery; a finding that finds the queue full is
//     counted (keel.audit.findings.dropped) and logged, never blocking the
//     audit Logger.
//   - Delivery: each notifier gets every delivered finding in order, each
//     call bounded by Config.NotifyTimeout; a failing notifier is counted
//     (keel.audit.notify.errors) and logged and does not stop the others.
//     Close delivers what is queued and stops the goroutine.
//   - Webhook: its fields, defaults and retries are metrics/alert's
//     (docs/CONVENTIONS.md, "Webhook notifiers"): transport errors, 429 and
//     5xx are retried with full jitter, waiting at least what a Retry-After
//     asks (seconds or an HTTP date) up to MaxBackoff; the URL and headers
//     never appear in errors.
//
// Metrics (OpenTelemetry, scope github.com/keel-go/keel/audit/detect) keep
// the names keel.audit.* they had in package audit; docs/METRICS.md lists
// them.
package detect
