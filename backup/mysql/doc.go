// Package mysql is the MySQL / MariaDB driver of package backup:
// mariadb-dump (or mysqldump) with a consistent snapshot, restored by the
// mariadb (or mysql) client reading the dump on its standard input.
//
// The dump is taken with --single-transaction (a consistent snapshot of
// InnoDB tables without locking them), --routines, --triggers and
// --events. It names no database, so it restores into any database.
//
// The password never reaches a process argument or environment: it is
// written to a defaults file readable only by the owner (0600, in a 0700
// directory), passed with --defaults-extra-file and removed when the tool
// exits, also on failure. Commands run without a shell and with a minimal
// environment (PATH, HOME, TMPDIR, locale, MYSQL_HOME), not the service's;
// MYSQL_PWD is never passed on. SourceIdentity is the server's host and
// port (or socket) and the database name, never the user.
//
// Restore is not transactional in MySQL: a failed restore can leave part
// of the dump applied, which is why Restore checks the whole backup
// before the client starts and why the client is killed, not given end
// of input, if the stream fails.
//
// A Driver is safe for concurrent use.
package mysql
