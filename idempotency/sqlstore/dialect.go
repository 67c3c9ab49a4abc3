package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL flavour of the database behind Config.DB.
type Dialect int

const (
	// Postgres: PostgreSQL 12 or later, e.g. through github.com/jackc/pgx/v5/stdlib.
	Postgres Dialect = iota + 1
	// MySQL: MySQL 8 or MariaDB 10.5 or later through
	// github.com/go-sql-driver/mysql, with the driver's default
	// clientFoundRows=false (Reserve reads "0 rows affected" as "the record
	// was left as it was").
	MySQL
	// SQLite: SQLite 3.35 or later, e.g. through modernc.org/sqlite. Only
	// processes sharing the database file share the records.
	SQLite
	// MariaDB: MariaDB 10.5 or later through github.com/go-sql-driver/mysql.
	// The same schema as MySQL, but Reserve uses INSERT … RETURNING, so a
	// replay, like a first use, is one statement. (The MySQL dialect works
	// on MariaDB too.)
	MariaDB
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	case SQLite:
		return "sqlite"
	case MariaDB:
		return "mariadb"
	default:
		return "Dialect(" + strconv.Itoa(int(d)) + ")"
	}
}

// nowMillis is the dialect's expression for the database server's clock in
// milliseconds since the Unix epoch. Every expiry decision uses it, never
// the application's clock.
func (d Dialect) nowMillis() string {
	switch d {
	case Postgres:
		return "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
	case MySQL, MariaDB:
		return "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"
	default:
		// julianday('now') is fixed for the duration of one statement.
		return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
	}
}

// ph returns the i-th (1-based) bind placeholder.
func (d Dialect) ph(i int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// schema returns the statements that create the table and its index.
func (d Dialect) schema(table string) []string {
	index := indexName(table)
	switch d {
	case Postgres:
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + table + ` (
	scope        TEXT     NOT NULL,
	idem_key     TEXT     NOT NULL,
	fingerprint  BYTEA    NOT NULL,
	token        TEXT     NOT NULL,
	state        SMALLINT NOT NULL,
	lease_until  BIGINT   NOT NULL,
	expires_at   BIGINT   NOT NULL,
	status       INTEGER  NOT NULL DEFAULT 0,
	header       BYTEA,
	body         BYTEA,
	body_omitted BOOLEAN  NOT NULL DEFAULT FALSE,
	PRIMARY KEY (scope, idem_key)
)`,
			`CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + table + ` (expires_at)`,
		}
	case MySQL, MariaDB:
		// VARBINARY, not VARCHAR: keys compare byte for byte, never through
		// a case-insensitive collation ("abc" and "ABC" are two keys).
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + table + ` (
	scope        VARBINARY(512) NOT NULL,
	idem_key     VARBINARY(255) NOT NULL,
	fingerprint  VARBINARY(64)  NOT NULL,
	token        VARBINARY(64)  NOT NULL,
	state        TINYINT        NOT NULL,
	lease_until  BIGINT         NOT NULL,
	expires_at   BIGINT         NOT NULL,
	status       INT            NOT NULL DEFAULT 0,
	header       BLOB           NULL,
	body         LONGBLOB       NULL,
	body_omitted BOOLEAN        NOT NULL DEFAULT FALSE,
	PRIMARY KEY (scope, idem_key),
	KEY ` + index + ` (expires_at)
) ENGINE=InnoDB`,
		}
	default:
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + table + ` (
	scope        TEXT    NOT NULL,
	idem_key     TEXT    NOT NULL,
	fingerprint  BLOB    NOT NULL,
	token        TEXT    NOT NULL,
	state        INTEGER NOT NULL,
	lease_until  INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	status       INTEGER NOT NULL DEFAULT 0,
	header       BLOB,
	body         BLOB,
	body_omitted INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (scope, idem_key)
) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + table + ` (expires_at)`,
		}
	}
}

// indexName is the expiry index's name: the table's own name (without a
// schema) plus "_expires_at".
func indexName(table string) string {
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		table = table[i+1:]
	}
	return table + "_expires_at"
}

// queries are the dialect's statements for one table, built once by New.
type queries struct {
	// reserve inserts a pending record or takes over an expired one.
	// Postgres: one statement that also returns the live record when there
	// was nothing to take over. MySQL, SQLite: the upsert alone; lookup
	// reads the live record.
	reserve  string
	lookup   string
	complete string
	release  string
	purge    string
}

func buildQueries(d Dialect, table string) queries {
	now := d.nowMillis()
	p := d.ph
	var q queries
	// A record is free for a new holder when its lease ended before it was
	// completed, or when its retention ended.
	switch d {
	case Postgres:
		// One statement, three steps: cur reads the live record, if any, from
		// the statement's snapshot; only when there is none does ins insert
		// or take over an expired record (ON CONFLICT handles a record
		// committed since the snapshot). A replay is thus a plain read — no
		// row lock, so no WAL flush at commit. When both come back empty (a
		// record appeared or changed between snapshot and insert) Reserve
		// runs the statement again.
		free := `(r.state = 1 AND r.lease_until <= %[1]s) OR r.expires_at <= %[1]s`
		q.reserve = fmt.Sprintf(`WITH n AS (SELECT %[1]s AS ms),
cur AS (
	SELECT r.token, r.state, r.fingerprint, r.lease_until - n.ms AS left_ms, r.status, r.header, r.body, r.body_omitted
	FROM %[2]s r, n
	WHERE r.scope = $1::TEXT AND r.idem_key = $2::TEXT AND NOT (%[3]s)
),
ins AS (
	INSERT INTO %[2]s AS r (scope, idem_key, fingerprint, token, state, lease_until, expires_at)
	SELECT $1::TEXT, $2::TEXT, $3::BYTEA, $4::TEXT, 1, n.ms + $5::BIGINT, n.ms + $6::BIGINT FROM n
	WHERE NOT EXISTS (SELECT 1 FROM cur)
	ON CONFLICT (scope, idem_key) DO UPDATE SET
		fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token, state = 1,
		lease_until = EXCLUDED.lease_until, expires_at = EXCLUDED.expires_at,
		status = 0, header = NULL, body = NULL, body_omitted = FALSE
	WHERE %[4]s
	RETURNING r.token
)
SELECT TRUE, $4::TEXT, 1::SMALLINT, ''::BYTEA, 0::BIGINT, 0, NULL::BYTEA, NULL::BYTEA, FALSE FROM ins
UNION ALL
SELECT FALSE, token, state, fingerprint, left_ms, status, header, body, body_omitted FROM cur`,
			now, table, fmt.Sprintf(free, "n.ms"), fmt.Sprintf(free, "(SELECT ms FROM n)"))
	case MySQL, MariaDB:
		// MySQL evaluates ON DUPLICATE KEY UPDATE assignments left to right,
		// each seeing the columns already assigned. So token is decided
		// first from the old row, and every later column follows "did the
		// token change hands".
		free := fmt.Sprintf(`(state = 1 AND lease_until <= %[1]s) OR expires_at <= %[1]s`, now)
		took := `token = VALUES(token)`
		q.reserve = fmt.Sprintf(`INSERT INTO %[1]s (scope, idem_key, fingerprint, token, state, lease_until, expires_at)
VALUES (?, ?, ?, ?, 1, %[2]s + ?, %[2]s + ?)
ON DUPLICATE KEY UPDATE
	token = IF(%[3]s, VALUES(token), token),
	fingerprint = IF(%[4]s, VALUES(fingerprint), fingerprint),
	status = IF(%[4]s, 0, status),
	header = IF(%[4]s, NULL, header),
	body = IF(%[4]s, NULL, body),
	body_omitted = IF(%[4]s, FALSE, body_omitted),
	state = IF(%[4]s, 1, state),
	lease_until = IF(%[4]s, VALUES(lease_until), lease_until),
	expires_at = IF(%[4]s, VALUES(expires_at), expires_at)`, table, now, free, took)
		if d == MariaDB {
			// RETURNING yields the row as the statement left it: ours when
			// inserted or taken over, else the live record.
			q.reserve += fmt.Sprintf(`
RETURNING token, state, fingerprint, lease_until - %s, status, header, body, body_omitted`, now)
		}
	default:
		free := fmt.Sprintf(`(state = 1 AND lease_until <= %[1]s) OR expires_at <= %[1]s`, now)
		q.reserve = fmt.Sprintf(`INSERT INTO %[1]s (scope, idem_key, fingerprint, token, state, lease_until, expires_at)
VALUES (?, ?, ?, ?, 1, %[2]s + ?, %[2]s + ?)
ON CONFLICT (scope, idem_key) DO UPDATE SET
	fingerprint = excluded.fingerprint, token = excluded.token, state = 1,
	lease_until = excluded.lease_until, expires_at = excluded.expires_at,
	status = 0, header = NULL, body = NULL, body_omitted = 0
WHERE %[3]s
RETURNING token`, table, now, free)
	}
	if d == MySQL || d == SQLite {
		q.lookup = fmt.Sprintf(`SELECT token, state, fingerprint, lease_until - %[2]s, status, header, body, body_omitted,
	(state = 1 AND lease_until <= %[2]s) OR expires_at <= %[2]s
FROM %[1]s WHERE scope = ? AND idem_key = ?`, table, now)
	}
	held := fmt.Sprintf(`scope = %s AND idem_key = %s AND token = %s AND state = 1 AND lease_until > %s`,
		p(5), p(6), p(7), now)
	q.complete = fmt.Sprintf(`UPDATE %s SET state = 2, status = %s, header = %s, body = %s, body_omitted = %s WHERE %s`,
		table, p(1), p(2), p(3), p(4), held)
	q.release = fmt.Sprintf(`DELETE FROM %s WHERE scope = %s AND idem_key = %s AND token = %s AND state = 1 AND lease_until > %s`,
		table, p(1), p(2), p(3), now)
	q.purge = fmt.Sprintf(`DELETE FROM %s WHERE expires_at <= %s`, table, now)
	return q
}
