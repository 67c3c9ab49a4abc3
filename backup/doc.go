// Package backup makes database backups that are encrypted, signed,
// verified, retained on calendar rules and proven to restore.
//
// It replaces the script every team has — mysqldump with the password on
// the command line, gzip, maybe an upload, and a restore nobody has
// tried. A Repository streams a Source (backup/postgres, backup/mysql,
// backup/sqlite, backup/dir) through zstd (or gzip) compression and age
// encryption into a Storage (backup/local, backup/s3), and stores beside
// each object a manifest signed with Ed25519 that names the repository
// and the database it is of. The repository has a signed identity and a
// signed index of its backups. Verify, Restore and Prune work from the
// manifests and the index.
//
//	repo, err := backup.New(backup.Config{
//		Storage:    store,                 // local.New(dir) or s3.New(...)
//		Source:     pg,                    // postgres.New(postgres.Config{DSN: dsn})
//		Recipients: []age.Recipient{recipient},
//		Identities: []age.Identity{identity},
//		SigningKey: signingKey,
//	})
//	m, err := repo.Create(ctx)                                   // back up now
//	_, err = repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyRestore, Trial: pg})
//	_, err = repo.Restore(ctx, "latest", pg, backup.RestoreOptions{
//		Confirm: func(ctx context.Context, p *backup.RestorePlan) error { … }, // shown before any write
//	})
//	_, err = repo.Prune(ctx, backup.Policy{Daily: 7, Weekly: 4, Monthly: 12}, false)
//
// # Guarantees
//
// Streaming, bounded memory. The dump flows from the tool's stdout
// through hashing, compression and encryption into the storage through a
// pipe: no temporary file (except SQLite's VACUUM INTO copy, see
// backup/sqlite), and memory bounded by a 5 MiB run-ahead buffer (so the
// dump tool never waits on the compressor; the pipe from a dump tool is
// also grown to 1 MiB on Linux), the compressor's 2 MiB window and the
// storage's part buffer: peak RSS about 30 MB for a 1 GB PostgreSQL
// database (docs/BENCHMARKS.md), whatever the database size.
//
// All or nothing. A dump that exits non-zero, is killed, or is cut short
// by a storage failure produces no backup: the object is discarded (a
// local file never leaves its temporary name; an S3 multipart upload is
// aborted), and the manifest, written last, is never written. A manifest
// therefore always describes a complete, durable object.
//
// Tamper evidence. The manifest records the SHA-256 and size of both the
// plain dump and the stored object and is signed with Ed25519. A flipped
// byte, a truncated object, a swapped object, or a manifest swapped with
// another backup's or edited, is detected by Verify and refused by
// Restore (errors match ErrCorrupt or ErrSignature).
//
// Restore checks first. Restore verifies the signature and reads the
// whole stored object against its checksum before it writes anything.
// During the restore itself the stream is checked again, and a mismatch
// makes the target's read fail rather than end, so a tool never takes a
// damaged stream for a complete one; PostgreSQL restores run in a single
// transaction. Before the first write, RestoreOptions.Confirm receives the
// plan: source, target, backup id and index seq, age, last verification,
// what options allowed, warnings.
//
// Only this repository's backups, of this database. Each repository has
// an identity (a random id, created with it) and every manifest carries,
// under its signature, that id and the source's identity (driver, host,
// port, database name or canonical path; never credentials). Restore
// refuses, each unless its own option: a backup made in another
// repository (AllowOtherRepository) — such as a validly signed backup of
// another database copied in —, a backup of another database than the
// target (AllowOtherSource), a legacy manifest from before identities
// that the index does not vouch for (AllowLegacy), and a target that holds
// data (Force). Errors are *RefusedError naming the option.
//
// Removed backups are reported. The signed index lists every backup with
// a number that only grows; a backup it lists that storage lacks is
// reported (ErrMissing) by List and Inventory, and "latest" is refused —
// not silently moved back — while a newer listed backup is missing or
// damaged, or while the identity or index itself is missing, untrusted or
// (with a Witness) older than one seen before (ErrIndex). What the index
// cannot detect without a witness — an older signed index put back with
// the newer backups removed — is said in docs/FORMATS.md. Index updates
// are serialised between processes by Config.Lock (backup/local's storage
// locks itself), written whole and atomically after the manifest, and a
// backup whose update was lost is added by the next; nothing repairs the
// index or recreates an identity without an operator (Init, Forget).
//
// Secrets. Passwords (and PostgreSQL's sslpassword) reach dump tools
// only through 0600 files in a private directory removed after each run,
// never process arguments or environment; the tools get a minimal
// environment, not the service's (tests read every tool run's own
// /proc/<pid>/cmdline and environ); commands run without a shell;
// manifests hold the source without credentials and age recipients,
// never identities; SigningKey prints as [REDACTED].
//
// Retention follows restic's calendar semantics (ApplyPolicy is a pure
// function), and never removes the newest verified backup (or the
// newest backup when none is verified). Schedules take cron expressions
// or intervals; runs never overlap in-process, and FileLock keeps them
// from overlapping across processes with a lock the kernel releases when
// a holder crashes.
//
// Concurrency. Repository, Scheduler and the drivers and storages are
// safe for concurrent use. Concurrent Creates make distinct backups.
//
// Bad input. Config errors name the field. Manifests, verification
// records, the identity, the index and witness files are decoded strictly
// (unknown fields, wrong types, bad ids, hashes or sequence numbers are
// errors matching ErrMalformed, naming the field), bounded in size (1 MiB;
// the index 16 MiB and 65 536 entries), and fuzzed.
//
// Verify proves that a stored object is the one its signed manifest
// describes (and by level that it decrypts, decompresses and restores);
// without a SigningKey its result is not recorded (Verification.Recorded).
// Membership in the repository is Inventory's and Restore's to check.
//
// Observability: metrics keel.backup.operations, keel.backup.duration,
// keel.backup.bytes and keel.backup.last_success (see docs/METRICS.md),
// spans backup.create, backup.verify, backup.restore, backup.prune, and
// one log line per operation through Config.Logger.
//
// The emergency runbook, docs/BACKUP-RUNBOOK.md, restores a backup with
// age, zstd and pg_restore alone; a test follows it.
package backup
