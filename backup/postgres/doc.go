// Package postgres is the PostgreSQL driver of package backup: pg_dump in
// custom format, restored with pg_restore in a single transaction.
//
// The password never reaches a process argument: it is taken out of the
// DSN and given to pg_dump and pg_restore as PGPASSWORD in their
// environment; the connection string they receive on the command line has
// no password. Commands run without a shell. Before dumping, the driver
// compares pg_dump's major version with the server's and fails with
// backup.ErrToolVersion when the client is older (pg_dump would refuse
// anyway, less clearly).
//
// Restore runs pg_restore --single-transaction --exit-on-error, so a
// failed or corrupt restore leaves the target as it was. With replace,
// objects in the dump are dropped first (--clean --if-exists).
//
// A Driver is safe for concurrent use.
package postgres
