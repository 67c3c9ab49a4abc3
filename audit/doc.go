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
// independent verifier. Checkpoints, signed with Ed25519 over the chain head
// and their own time, seal the chain periodically (Config.CheckpointEvery,
// default every 10 000 records; Config.CheckpointInterval, default a minute
// after the last one if records were written), when a segment is rotated,
// after a gap, a crash recovery or an accepted rollback, and at Close.
// Verify (and `keel audit verify`) needs only the public key; it detects a
// modified, deleted, inserted, reordered or truncated record — truncation
// after the last checkpoint included, because a log closed cleanly ends with
// the "close" checkpoint — and records cut from the head of a segment, and
// names the first bad record and why.
//
// A log cut back to an earlier checkpoint cannot be told apart, from the
// inside, from a log that ended there: every restart leaves a signed
// "close" checkpoint in the chain. A Witness (FileWitness on another volume,
// or audit/sqlsink's Witness in another database) keeps the newest
// checkpoint outside the log: the Logger publishes each checkpoint to it,
// refuses to continue a log that is behind it (*RollbackError) unless the
// operator accepts that exact loss (Config.AcceptRollback, itself recorded
// as a rollback record), and Verify given the witness fails with
// ErrRollback naming the missing records.
//
// Verification is fast enough to run often: a decoding path for the
// writer's own layout (with full decoding for anything else), segments
// checked in parallel (VerifyOptions.Workers), and VerifyOptions.Resume,
// which verifies only what follows the last checkpoint a previous Verify
// found good (`keel audit verify -state`). docs/BENCHMARKS.md has the
// figures.
//
// # Reading
//
// Query (and `keel audit query`) streams the events matching a Filter by
// actor, action, resource, outcome, tenant and time, without loading the log
// into memory; the SQL sink answers from its indexes. A Record encodes to
// JSON as its stored line, byte for byte, and decodes with DecodeLine, so
// what a service prints of its log is what a verifier checks.
// Config.Observer sees every persisted event: package audit/detect's
// Detector runs anomaly rules over that live stream and delivers its
// findings to notifiers.
//
// # Sinks of your own
//
// A Sink stores records (Open, Append, Close); a Source reads them back for
// Verify and Query. Optional interfaces add what FileSink does: Syncer
// (buffered mode's periodic fsync), RotatingSink (segments, each opened by a
// signed checkpoint, and retention after each rotation), SeekSource and
// SegmentedSource (resumed and parallel verification).
//
// # Guarantees
//
//   - Concurrency: Logger and FileSink are safe for concurrent use.
//     Records are appended by one goroutine, in the order their Log calls
//     were accepted.
//
//   - Nothing acknowledged is lost: in Durable mode a nil from Log means the
//     event is on disk. A crash (even SIGKILL or power loss during a write)
//     leaves at most a torn last line, never acknowledged; reopening moves it
//     to a .torn file and writes a recovery record naming its size and hash.
//
//   - Faults: a sink that fails fails the durable callers of that batch
//     (ErrSink) and leaves its chain intact; the events it missed are counted
//     in a gap record once it works again. In Buffered mode a failed batch is
//     retried until it is written or Close gives up, and Close reports what
//     could not be persisted. A failed fsync makes a FileSink refuse further
//     appends, since the file's state is then unknown.
//
//   - Bad input: Log rejects an event without Action or with an unknown
//     Outcome (ErrInvalidEvent); DecodeLine, Verify and Query return typed
//     errors on any malformed line and never panic. Every free-text field of
//     an event is capped at Config.MaxFieldSize (default 2 KiB) with a
//     visible "…[truncated: N bytes]" marker, and an event larger than
//     Config.MaxEventSize (default 32 KiB) once capped is refused, so a
//     request cannot make the log store what its client chose to send.
//     Witness files, verify-state files and witness rows are parsed
//     strictly and bounded.
//
//   - Retention: FileSinkConfig.Retention removes old rotated segments; what
//     remains starts with a signed checkpoint and still verifies.
//     VerifyOptions.FromStart refuses such a log when no retention is
//     expected.
//
//   - Close writes everything queued, seals each sink with a final
//     checkpoint and stops the writer goroutine.
//
//   - Witness: a witness never leads the log (a checkpoint is published
//     after it is durable, in Buffered mode too); it may lag it after a
//     crash or while it is unreachable (logged, counted in
//     keel.audit.witness.errors, retried at each new checkpoint and with a
//     backoff). Publishing runs on its own goroutine: a hung witness delays
//     no caller of Log (Close waits up to 10 s for the last publication). A
//     witness that cannot be read fails New, and a log New refuses is left
//     as it was found.
//
// Limits: records after the last checkpoint are protected by the chain only:
// anyone who can write a log whose writer is still running
// (VerifyOptions.Live) can cut them off, or edit them and recompute every
// hash after them, without the signing key, until the next checkpoint seals
// them. A shorter CheckpointInterval or a smaller CheckpointEvery narrows
// that window. Without a witness, a log cut back to any earlier checkpoint
// verifies; a witness that the same person can rewrite proves nothing, nor
// does a signing key kept beside the log it signs. VerifyOptions.Resume
// does not see tampering before its mark. The hash chain proves order and
// integrity, not the truth of what was logged.
//
// Metrics (OpenTelemetry, scope github.com/keel-go/keel/audit) are listed in
// docs/METRICS.md.
package audit
