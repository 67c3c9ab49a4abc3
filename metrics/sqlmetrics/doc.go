// Package sqlmetrics measures what a service asks of its database: any
// database/sql driver, wrapped at the driver.Connector, records each
// operation's duration per the OpenTelemetry database conventions, observes
// the connection pool, logs slow queries through log/slog, and optionally
// traces each operation.
//
//	db, err := sqlmetrics.Open("pgx", dsn, sqlmetrics.Config{
//		System:             "postgresql",
//		Namespace:          "sales",
//		SlowQueryThreshold: 200 * time.Millisecond,
//		Logger:             logger,
//	})
//	defer db.Close()          // db.DB is the *sql.DB to use everywhere
//
// [Open] takes a registered driver's name; [OpenDB] a driver.Connector
// (pgx's stdlib.GetConnector, mysql.NewConnector); [NewConnector] wraps a
// connector for sql.OpenDB without the pool metrics.
//
// # Metrics
//
//   - db.client.operation.duration (histogram, s; the conventions' buckets
//     1 ms to 10 s), one per Exec, Query (until its rows are exhausted or
//     closed), prepared-statement execution, BEGIN, COMMIT and ROLLBACK.
//     Attributes: db.system.name, db.namespace (when configured),
//     db.query.summary (the first operation and the tables: "SELECT
//     customers"), db.operation.name and db.collection.name (only when the
//     statement has exactly one operation and one table, as the conventions
//     require of a name parsed from the text), and on failure error.type
//     and db.response.status_code, both the database's own code: the
//     SQLSTATE of an error with SQLState() (pgx), the error number of
//     go-sql-driver/mysql's *MySQLError, the result code of an error with
//     Code() int (modernc.org/sqlite); without one, error.type alone
//     (context.Canceled, context.DeadlineExceeded, driver.ErrBadConn, or
//     the error's Go type). Never the statement text, never an argument.
//   - db.client.connection.count (used, idle), db.client.connection.max,
//     keel.sqlmetrics.connection.waits, keel.sqlmetrics.connection.wait_time
//     and keel.sqlmetrics.connection.closed, read from sql.DBStats at each
//     collection ([Open] and [OpenDB] only).
//   - keel.sqlmetrics.slow_queries (counter): operations at or above
//     Config.SlowQueryThreshold, with the duration's attributes.
//
// Statements are lexed and their literals removed by DataDog's
// go-sqllexer, in the dialect Config.System names (MySQL's "..." is a
// string there, an identifier elsewhere; a backslash escapes a quote in
// MySQL, not in SQLite). PostgreSQL statements, and those of a system the
// lexer does not know, are also lexed with the other backslash rule: when
// the two readings disagree on where a literal ends, no text is kept, only
// the names both agree on.
//
// The lexer is not trusted alone. A scanner of Keel's own reads each
// statement in every way its system may (PostgreSQL with
// standard_conforming_strings on and off, with E'…', $tag$…$tag$ and
// nested comments; MySQL with and without backslash escapes, "…" a string,
// # comments; SQL Server's […] and SQLite's `…` and […] identifiers;
// Oracle's q'[…]'; a system it does not know, all of these), and the
// statement text (db.query.text, the slow-query log's statement), the
// summary and db.collection.name are kept only if every word in them is a
// word the statement has outside literals and comments in every reading;
// a word starting with a digit counts as a number, not a word (a bind
// variable such as :1 excepted). Quoted identifiers ("Odd'", [Name]) are
// names and are kept. No text is kept either when the statement holds a
// construct the lexer is known to misread: a /* inside a comment, a
// number with an underscore (4111_1111), a q-quote (q'…', nq'…'), or a $
// that is neither a parameter nor a dollar quote. Then only
// db.operation.name is kept, as the summary too, and only if it is itself
// such a word; text is dropped, never repaired. So a leak can only repeat
// words the statement has outside its literals; punctuation alone is not
// checked. MySQL under sql_mode NO_BACKSLASH_ESCAPES is read both ways: a
// statement the two readings disagree on keeps no text (docs/METRICS.md).
// The result, checks included, is cached per query
// text, so a steady set of statements costs one map lookup per call; the
// cache holds at most 2 048 texts, and a text over 4 KiB is analysed on each
// call instead of kept.
//
// # Slow-query log
//
// With SlowQueryThreshold set, every operation that took at least that
// long is logged at Warn: "sqlmetrics: slow query" with db.query.summary,
// statement (the text with every literal replaced by "?" and comments
// removed, at most 2 KiB), duration, rows (returned, or affected; -1 when
// unknown), and, from the context, http.route (with
// [github.com/keel-go/keel/metrics/requestctx.Middleware] around the mux),
// trace_id and request_id (left to the handler when the Logger's handler is
// requestctx.NewLogHandler's, which adds them to every record). Argument
// values never appear: they are where the personal data is.
//
// # Traces
//
// With Tracing, each operation is a client span named by its summary (by
// db.system.name when there is none), with
// the metric's attributes and db.response.returned_rows; db.query.text, the
// literal-free statement, only with SpanQueryText.
//
// # Guarantees
//
//   - Transparency: the wrapper implements every optional driver interface
//     and answers for one the driver lacks exactly as database/sql would
//     without it (driver.ErrSkip, the legacy method, or success); a driver's
//     RowsColumnScanner (Go 1.27) and ColumnConverter are kept. [Unwrap]
//     gives the driver's own connection in sql.Conn.Raw.
//   - Cost: with metrics on and a cached statement, an Exec allocates
//     nothing more than the bare driver, and so does a Query on a
//     connection database/sql has taken from its pool before: each
//     connection reuses the wrapper of its last closed result set. A
//     connection's first Query, and a Query after another in the same
//     transaction or sql.Conn (no session reset in between), allocates one
//     wrapper
//     (docs/BENCHMARKS.md, sqlmetrics).
//   - Closed rows: database/sql never calls rows after Close; a caller of
//     the driver's own API (sql.Conn.Raw) may, and then a second Close
//     answers nil and Next an error, without reaching the driver or
//     recording again. A closed wrapper is reused only after database/sql
//     resets the connection's session, which it does only once Raw's
//     callback, the one place driver values may be used, has returned.
//   - Concurrency: safe for concurrent use as database/sql requires of a
//     driver; a connection's wrapper is used by one goroutine at a time.
//   - Bad input: any statement text is accepted (fuzzed): text the lexer
//     cannot parse is recorded with db.system.name alone. Config errors name
//     the field.
//   - What is not measured: preparing a statement (it is part of what runs
//     it), Ping, and a driver.ErrSkip answer (database/sql then prepares and
//     executes, and that execution is recorded).
package sqlmetrics
