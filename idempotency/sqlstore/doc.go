// Package sqlstore keeps idempotency records in a SQL database through
// database/sql: PostgreSQL (github.com/jackc/pgx/v5/stdlib), MySQL and
// MariaDB (github.com/go-sql-driver/mysql; dialects MySQL and MariaDB) and
// SQLite (modernc.org/sqlite).
// This package imports no driver: register the one you use.
//
//	store, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres})
//	err = store.Migrate(ctx) // or run store.Schema() with your migration tool
//	m, err := idempotency.New(idempotency.Config{Store: store})
//
// # Exactly once, honestly
//
// Idempotency alone narrows duplicates to one window: the operation's side
// effect committed, then the process died before the record was completed;
// once the lease ends a retry runs the operation again. CompleteTx closes
// that window: it completes the record inside the transaction that performs
// the side effect, so the order row and its idempotency record commit
// together or not at all. A test kills a process (SIGKILL) after the insert,
// after CompleteTx and after the commit, on each database, and checks that
// an order exists exactly when its record is completed and that the retry
// creates it once.
//
// With the HTTP middleware, the handler takes the lease from
// idempotency.LeaseFromContext, calls CompleteTx with the response it is
// about to send, commits, then calls idempotency.MarkCompleted.
//
// # Statements and round trips
//
// Reserve is one atomic statement, an insert that takes over a record whose
// lease or retention has ended (INSERT … ON CONFLICT DO UPDATE … WHERE on
// PostgreSQL and SQLite, INSERT … ON DUPLICATE KEY UPDATE on MySQL):
//
//	            first request          replay / in progress / mismatch
//	PostgreSQL  1 (+1 for Complete)    1 (the same statement returns the live record)
//	MariaDB     1 (+1 for Complete)    1 (INSERT … RETURNING returns the live record)
//	MySQL       1 (+1 for Complete)    2 (the upsert, then a SELECT)
//	SQLite      1 (+1 for Complete)    2 (the upsert, then a SELECT)
//
// A statement is one network round trip on PostgreSQL (pgx caches the
// prepared statement). With go-sql-driver/mysql it is two (prepare, then
// execute) unless the DSN sets interpolateParams=true, which makes it one;
// docs/BENCHMARKS.md has the measured counts.
//
// Time is the database server's clock (clock_timestamp(), NOW(3),
// julianday('now')) in milliseconds since the epoch, so instances with
// skewed clocks agree on leases. The schema is in Schema and in
// docs/FORMATS.md; keys and scopes compare byte for byte (VARBINARY on
// MySQL, never a case-insensitive collation).
//
// # Requirements and caveats
//
//   - MySQL/MariaDB: keep the driver's default clientFoundRows=false;
//     Reserve reads "0 rows affected" as "the live record was left alone".
//   - SQLite: set a busy timeout (_pragma=busy_timeout(5000)) so that
//     concurrent writers wait instead of failing with SQLITE_BUSY, and
//     begin transactions that call CompleteTx as writers (_txlock=immediate)
//     so that they never need to upgrade a read lock.
//   - From CompleteTx until Commit the record's row is locked: retries of
//     that key wait for the transaction, then see the replay. Make
//     CompleteTx the last statement before Commit.
//   - Expired records are ignored at once but deleted only by DeleteExpired;
//     call it periodically to bound the table.
//
// Errors from the database are returned wrapped, prefixed "sqlstore:";
// a lost lease is idempotency.ErrLeaseLost. The Store is safe for
// concurrent use and starts no goroutines.
package sqlstore
