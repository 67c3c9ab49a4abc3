// Package postgres is the PostgreSQL driver of package backup: pg_dump in
// custom format, restored with pg_restore in a single transaction.
//
// No secret reaches a tool's arguments or environment, which /proc shows
// to other local processes: the password (from the DSN, or else this
// process's PGPASSWORD) is written to a pgpass file and sslpassword to a
// service file, both 0600 in a private 0700 directory that is removed when
// the tool exits, also on failure; pg_dump and pg_restore find them
// through PGPASSFILE and PGSERVICEFILE. The connection string on their
// command line has neither. They run without a shell and with a minimal
// environment (PATH, HOME, TMPDIR, locale and the non-secret PG*
// settings), not the service's, which holds its API keys and database
// URLs. SourceIdentity is the server's host and port and the database name,
// never the user. Before dumping, the driver
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
