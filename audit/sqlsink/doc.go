// Package sqlsink stores an audit log in a SQL table through database/sql:
// PostgreSQL, SQLite and MySQL/MariaDB. It links no driver; the application
// imports the one it uses (github.com/jackc/pgx/v5/stdlib,
// modernc.org/sqlite, github.com/go-sql-driver/mysql).
//
// Each row holds one record: its exact line (the hash chain covers those
// bytes, so the column is binary and never re-encoded), its sequence number
// as primary key, and copies of the searchable fields (kind, time, actor,
// action, resource, outcome, tenant) with indexes for Query. The copies are
// for searching only: Query re-checks every match against the line, so an
// edited column cannot make a record match or hide, and Verify reads only
// the lines.
//
//	sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: sqlsink.Postgres})
//	logger, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key})
//
// Guarantees: a batch is inserted by one statement (one transaction of
// several above 200 records), so a failed Append stores nothing; the row
// order is the chain order; one Logger writes a table (two would collide on
// the primary key and fail, never interleave).
// The Sink is safe for concurrent use by one Logger and any number of
// readers (Lines, Query).
package sqlsink
