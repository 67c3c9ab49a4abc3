// Package sqlite is the SQLite driver of package backup, on the
// pure-Go modernc.org/sqlite (no cgo).
//
// Dump takes an online, consistent copy of a live database with VACUUM
// INTO: writers may keep working; the copy is one transaction's view. The
// copy is written into a fresh 0700 directory under Config.ScratchDir
// (the one temporary file of any Keel driver: SQLite can only VACUUM INTO
// a file), streamed, and removed.
//
// Restore replaces the database atomically: the dump is written to a
// temporary file beside the target, synced, checked with PRAGMA
// integrity_check, and renamed over the target; the target's -wal and
// -shm files are removed first so that a stale log is never replayed
// into the restored file. Stop the application's writers before a
// restore.
//
// A Driver is safe for concurrent use.
package sqlite
