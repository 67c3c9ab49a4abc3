// Package health serves liveness and readiness endpoints with
// per-dependency detail, in the IETF draft "Health Check Response Format for
// HTTP APIs" (application/health+json) and, with ?verbose, in the plain-text
// form Kubernetes' own /livez and /readyz use.
//
// Register named checks, then mount the two handlers:
//
//	reg, _ := health.New(health.Config{ServiceID: "salesapi", ReleaseID: version})
//	defer reg.Close()
//	reg.Register(health.Check{Name: "postgres", ComponentType: "datastore", Func: health.SQLPing(db)})
//	reg.Register(health.Check{Name: "redis", ComponentType: "datastore", NonCritical: true,
//		Func: health.Ping(health.PingFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() }))})
//	reg.Register(health.Check{Name: "backup", Interval: time.Minute,
//		Func: health.LastSuccessWithin(lastBackup, 26*time.Hour)})
//	mux.Handle("GET /livez", reg.Livez())
//	mux.Handle("GET /readyz", reg.Readyz())
//
// /livez runs only Liveness checks (none by default: it passes while the
// process serves HTTP), because restarting every instance when the database
// is down helps nobody. /readyz runs the Readiness checks. On SIGTERM,
// [Registry.Drain] makes /readyz fail (with a "shutdown" entry) so that the
// load balancer stops sending traffic before the server shuts down.
//
// # Status
//
// A check passes (nil), warns (an error wrapped by [Warn], or any error of a
// NonCritical check) or fails. The endpoint's status is fail if any critical
// check fails, else warn if any check warns, else pass; fail answers 503,
// pass and warn 200. Each check appears under "checks" as
// "<name>:responseTime" with componentType, observedValue (its latency in
// ms), observedUnit "ms", status and time; "output" only when it did not
// pass. ?exclude=<name> (repeatable) skips a check, as in Kubernetes; mounted
// as "GET /readyz/{check}" a handler serves one check, as /readyz/<name> does
// in Kubernetes.
//
// Ready-made checks: [SQLPing] (database/sql), [Ping] (Redis or anything with
// Ping(ctx) error, without linking its client), [HTTP] (a dependency's
// health URL: expected status, timeout, no redirects), [DiskSpace], and
// [LastSuccessWithin] (the last successful backup or job, fed by a func so
// that this package imports nothing of the job's).
//
// # Guarantees
//
//   - Concurrency: a Registry is safe for concurrent use; the checks of one
//     request run in parallel. Background checks (Interval > 0) run on their
//     own goroutine each, which Close stops and waits for. Close
//     unregisters the status callback at once; a registry without
//     background checks dropped without Close is collected and its callback
//     unregistered then (the callback holds the checks, never the registry).
//   - Faults: every run is bounded by its Timeout, even if the check ignores
//     its context; a panicking check is contained and reported as failed.
//   - Disclosure: error text is withheld from responses unless
//     Config.ShowDetails, or Config.ShowDetailsTo admits the request (an
//     authorisation hook: operators see why, public probes do not);
//     listeners and logs receive it. [HTTP]'s errors name the URL without
//     user info or query.
//   - Bad input: Register returns an error naming the Check field.
//   - Observability: keel.health.check.duration (histogram, s) and
//     keel.health.check.status (gauge, 1 for the current status) with
//     keel.health.check and keel.health.status; [Registry.OnChange]
//     listeners hear every status change in order.
package health
