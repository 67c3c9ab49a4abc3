// Package audit keeps a durable, tamper-evident record of who did what to
// which resource, with what outcome — so that a team can answer "who changed
// this customer's licence, and when?" and an auditor can check that the
// record was not edited since.
//
// # Writing
//
// A Logger takes Events through Log and hands them to one writer goroutine,
// which appends them to every Sink: the JSON-lines FileSink in this package,
// or the SQL sink in audit/sqlsink (PostgreSQL, SQLite, MySQL).
//
//	sink, _ := audit.NewFileSink(audit.FileSinkConfig{Dir: "/var/lib/salesapi/audit"})
//	logger, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key})
//	...
//	err = logger.Log(ctx, audit.Event{
//		Actor:    audit.Actor{ID: "u-42", Type: "user", IP: clientIP},
//		Action:   "license.update",
//		Resource: audit.Resource{Type: "license", ID: "lic-7"},
//		Outcome:  audit.Success,
//		Before:   map[string]any{"seats": 10}, After: map[string]any{"seats": 25},
//	})
//	if err != nil { /* fail closed: refuse the request you could not audit */ }
//
// In Durable mode (the default) Log returns nil only once the event is
// persisted — written and fsync'd. Callers logging at the same time share
// one fsync (group commit), so durability costs little under load. In
// Buffered mode Log returns once the event is queued. When the queue is full,
// Config.OnFull chooses: Block (default), Fail (ErrQueueFull: fail closed) or
// Drop — and every drop is written as a gap record with the count, signed by
// a checkpoint, so nothing disappears silently. With several sinks,
// Config.SinkPolicy says whether all of them or at least one must succeed.
//
// Fields named in Config.Sensitive are never written in clear: they are
// masked, or replaced by a keyed HMAC that an investigator holding the key can
// still search for (HMACValue). Trace and span ids come from the
// OpenTelemetry span in the context given to Log.
//
// # Tamper evidence
//
// Every record carries the SHA-256 hash of the one before it, over a
// canonical encoding specified in docs/FORMATS.md so that anyone can write an
// independent verifier. Checkpoints, signed with Ed25519, seal the chain
// periodically (Config.CheckpointEvery, Config.CheckpointInterval), when a
// segment is rotated, after a gap or a crash recovery, and at Close. Verify
// (and `keel audit verify`) needs only the public key; it detects a
// modified, deleted, inserted, reordered or truncated record — truncation
// after the last checkpoint included, because a log closed cleanly ends with
// the "close" checkpoint — and names the first bad record and why.
//
// # Reading
//
// Query (and `keel audit query`) streams the events matching a Filter by
// actor, action, resource, outcome, tenant and time, without loading the log
// into memory; the SQL sink answers from its indexes. A Detector runs anomaly
// rules — BruteForce, BulkRead, OutsideHours, NewIP, or your own Rule — over
// the live stream and delivers Findings to notifiers (NotifierFunc,
// SlogNotifier, WebhookNotifier with retry) and to metrics.
//
// # Guarantees
//
//   - Concurrency: Logger, Detector, FileSink and WebhookNotifier are safe for
//     concurrent use. Records are appended by one goroutine, in the order
//     their Log calls were accepted.
//   - Nothing acknowledged is lost: in Durable mode a nil from Log means the
//     event is on disk. A crash (even SIGKILL or power loss during a write)
//     leaves at most a torn last line, never acknowledged; reopening moves it
//     to a .torn file and writes a recovery record naming its size and hash.
//   - Faults: a sink that fails fails the durable callers of that batch
//     (ErrSink) and leaves its chain intact; the events it missed are counted
//     in a gap record once it works again. In Buffered mode a failed batch is
//     retried until it is written or Close gives up, and Close reports what
//     could not be persisted. A failed fsync makes a FileSink refuse further
//     appends, since the file's state is then unknown.
//   - Bad input: Log rejects an event without Action or with an unknown
//     Outcome (ErrInvalidEvent); DecodeLine, Verify and Query return typed
//     errors on any malformed line and never panic.
//   - Retention: FileSinkConfig.Retention removes old rotated segments; what
//     remains starts with a signed checkpoint and still verifies.
//     VerifyOptions.FromStart refuses such a log when no retention is
//     expected.
//   - Close writes everything queued, seals each sink with a final
//     checkpoint and stops the writer goroutine.
//
// Limits: records after the last checkpoint are protected by the chain only,
// so a log whose writer is still running (VerifyOptions.Live) can be cut
// back to its last checkpoint without detection; a short CheckpointInterval
// narrows that window. The hash chain proves order and integrity, not the
// truth of what was logged.
//
// Metrics (OpenTelemetry, scope github.com/keel-go/keel/audit) are listed in
// docs/METRICS.md.
package audit
