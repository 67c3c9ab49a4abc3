package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/keel-go/keel/idempotency"
)

// DefaultTable is the table's name when Config.Table is empty.
const DefaultTable = "keel_idempotency"

// Config configures a Store.
type Config struct {
	// DB is the database. Required. Reserve, Complete and Release run on it
	// in autocommit mode; CompleteTx runs on the caller's transaction.
	DB *sql.DB
	// Dialect is the database's SQL flavour. Required.
	Dialect Dialect
	// Table names the records' table, optionally schema-qualified
	// ("billing.idempotency"). Letters, digits and underscores. Default
	// DefaultTable.
	Table string
}

// Store is an idempotency.Store on a SQL database. Safe for concurrent use;
// it starts no goroutines.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	q       queries
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// New validates cfg and returns a Store. It does not touch the database:
// create the table with Migrate, or with the statements from Schema run by
// your own migration tool.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil {
		return nil, errors.New("sqlstore: Config.DB is required")
	}
	switch cfg.Dialect {
	case Postgres, MySQL, MariaDB, SQLite:
	case 0:
		return nil, errors.New("sqlstore: Config.Dialect is required (sqlstore.Postgres, sqlstore.MySQL, sqlstore.MariaDB or sqlstore.SQLite)")
	default:
		return nil, fmt.Errorf("sqlstore: Config.Dialect %d is not a known dialect", cfg.Dialect)
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if !identifier.MatchString(cfg.Table) {
		return nil, fmt.Errorf("sqlstore: Config.Table must be [schema.]name of letters, digits and underscores, got %q", cfg.Table)
	}
	return &Store{db: cfg.DB, dialect: cfg.Dialect, table: cfg.Table, q: buildQueries(cfg.Dialect, cfg.Table)}, nil
}

// Schema returns the DDL statements Migrate runs, for migration tools.
func (s *Store) Schema() []string { return s.dialect.schema(s.table) }

// Migrate creates the table and its index if they do not exist.
func (s *Store) Migrate(ctx context.Context) error {
	for _, stmt := range s.Schema() {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", s.table, err)
		}
	}
	return nil
}

// reserveAttempts bounds the retries of a Reserve that found the record
// changing under it (released or expired between two reads) or was chosen
// as a deadlock victim; each needs a concurrent writer.
const reserveAttempts = 5

// Reserve implements idempotency.Store in one statement on PostgreSQL and
// MariaDB, and in one statement (first use, takeover) or two (replay, in
// progress, mismatch) on MySQL and SQLite.
func (s *Store) Reserve(ctx context.Context, req idempotency.ReserveRequest) (idempotency.Reservation, error) {
	fp := req.Fingerprint
	if fp == nil {
		fp = []byte{} // NOT NULL column; drivers send a nil slice as NULL
	}
	for attempt := 1; ; attempt++ {
		res, found, err := s.reserveOnce(ctx, req, fp)
		switch {
		case err != nil && (attempt == reserveAttempts || !isDeadlock(err)):
			return res, err
		case err == nil && found:
			return res, nil
		case attempt == reserveAttempts:
			return idempotency.Reservation{}, fmt.Errorf("sqlstore: reserve: the record changed under %d consecutive attempts", reserveAttempts)
		}
	}
}

// isDeadlock reports whether the database aborted the statement to break a
// deadlock or a serialization conflict, which a retry resolves. InnoDB can
// do so to concurrent upserts of one key. Drivers are not imported here, so
// the test goes by SQLSTATE (pgx's errors have a SQLState method) or by
// go-sql-driver/mysql's message ("Error 1213 (40001): Deadlock found …").
func isDeadlock(err error) bool {
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		state := coded.SQLState()
		return state == "40001" || state == "40P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "Error 1213 (40001)") || strings.Contains(msg, "Error 1205 (HY000)")
}

func (s *Store) reserveOnce(ctx context.Context, req idempotency.ReserveRequest, fp []byte) (idempotency.Reservation, bool, error) {
	leaseMs, ttlMs := req.Lease.Milliseconds(), req.TTL.Milliseconds()
	if s.dialect == Postgres {
		var (
			mine bool
			rec  record
		)
		err := s.db.QueryRowContext(ctx, s.q.reserve, req.Scope, req.Key, fp, req.Token, leaseMs, ttlMs).Scan(
			&mine, &rec.token, &rec.state, &rec.fingerprint, &rec.leftMs, &rec.status, &rec.header, &rec.body, &rec.bodyOmitted)
		if errors.Is(err, sql.ErrNoRows) {
			return idempotency.Reservation{}, false, nil
		}
		if err != nil {
			return idempotency.Reservation{}, false, fmt.Errorf("sqlstore: reserve: %w", err)
		}
		if mine {
			return idempotency.Reservation{Decision: idempotency.Proceed}, true, nil
		}
		res, err := rec.decide(req.Token, fp)
		return res, err == nil, err
	}

	if s.dialect == MariaDB {
		var rec record
		err := s.db.QueryRowContext(ctx, s.q.reserve, req.Scope, req.Key, fp, req.Token, leaseMs, ttlMs).Scan(
			&rec.token, &rec.state, &rec.fingerprint, &rec.leftMs, &rec.status, &rec.header, &rec.body, &rec.bodyOmitted)
		if err != nil {
			return idempotency.Reservation{}, false, fmt.Errorf("sqlstore: reserve: %w", err)
		}
		res, err := rec.decide(req.Token, fp)
		return res, err == nil, err
	}

	var proceed bool
	switch s.dialect {
	case MySQL:
		r, err := s.db.ExecContext(ctx, s.q.reserve, req.Scope, req.Key, fp, req.Token, leaseMs, ttlMs)
		if err != nil {
			return idempotency.Reservation{}, false, fmt.Errorf("sqlstore: reserve: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return idempotency.Reservation{}, false, fmt.Errorf("sqlstore: reserve: %w", err)
		}
		proceed = n > 0 // 1: inserted, 2: taken over, 0: left as it was
	default:
		var token string
		err := s.db.QueryRowContext(ctx, s.q.reserve, req.Scope, req.Key, fp, req.Token, leaseMs, ttlMs).Scan(&token)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return idempotency.Reservation{}, false, fmt.Errorf("sqlstore: reserve: %w", err)
		default:
			proceed = token == req.Token
		}
	}
	if proceed {
		return idempotency.Reservation{Decision: idempotency.Proceed}, true, nil
	}

	var (
		rec  record
		free bool
	)
	err := s.db.QueryRowContext(ctx, s.q.lookup, req.Scope, req.Key).Scan(
		&rec.token, &rec.state, &rec.fingerprint, &rec.leftMs, &rec.status, &rec.header, &rec.body, &rec.bodyOmitted, &free)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && free) {
		return idempotency.Reservation{}, false, nil // released or expired since: try again
	}
	if err != nil {
		return idempotency.Reservation{}, false, fmt.Errorf("sqlstore: reserve: lookup: %w", err)
	}
	res, err := rec.decide(req.Token, fp)
	return res, err == nil, err
}

// record is a live record read back by Reserve.
type record struct {
	token       string
	state       int
	fingerprint []byte
	leftMs      int64
	status      int
	header      []byte
	body        []byte
	bodyOmitted bool
}

func (r *record) decide(token string, fp []byte) (idempotency.Reservation, error) {
	switch {
	case r.token == token:
		return idempotency.Reservation{Decision: idempotency.Proceed}, nil
	case !bytes.Equal(r.fingerprint, fp):
		return idempotency.Reservation{Decision: idempotency.Mismatch}, nil
	case r.state == stateCompleted:
		out := idempotency.Outcome{Status: r.status, Body: r.body, BodyOmitted: r.bodyOmitted}
		if len(r.header) > 0 {
			if err := json.Unmarshal(r.header, &out.Header); err != nil {
				return idempotency.Reservation{}, fmt.Errorf("sqlstore: stored header is not valid JSON: %w", err)
			}
		}
		return idempotency.Reservation{Decision: idempotency.Replay, Outcome: out}, nil
	default:
		return idempotency.Reservation{Decision: idempotency.InProgress, RetryAfter: time.Duration(max(r.leftMs, 1)) * time.Millisecond}, nil
	}
}

const stateCompleted = 2

// Complete implements idempotency.Store.
func (s *Store) Complete(ctx context.Context, lease idempotency.Lease, outcome idempotency.Outcome) error {
	return s.complete(ctx, s.db, lease, outcome)
}

// CompleteTx completes the record inside the caller's transaction tx — the
// one that also performs the operation's side effect (inserts the order,
// debits the account). The record and the side effect then commit
// together or not at all: a crash or rollback before commit leaves neither,
// the record stays pending, and once its lease ends a retry runs the
// operation again, exactly once in effect.
//
// tx must be on the same database as the store. It returns ErrLeaseLost
// when the lease ended first: roll tx back then, since another request may
// be running the operation. Make it the last statement before Commit: from
// it until Commit, the record's row is locked and retries of the key wait
// for the transaction (then see the replay).
func (s *Store) CompleteTx(ctx context.Context, tx *sql.Tx, lease idempotency.Lease, outcome idempotency.Outcome) error {
	return s.complete(ctx, tx, lease, outcome)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) complete(ctx context.Context, db execer, lease idempotency.Lease, outcome idempotency.Outcome) error {
	var header []byte
	if len(outcome.Header) > 0 {
		var err error
		if header, err = json.Marshal(outcome.Header); err != nil {
			return fmt.Errorf("sqlstore: complete: encode header: %w", err)
		}
	}
	body := outcome.Body
	if outcome.BodyOmitted {
		body = nil
	}
	r, err := db.ExecContext(ctx, s.q.complete, outcome.Status, header, body, outcome.BodyOmitted,
		lease.Scope, lease.Key, lease.Token)
	return affectedOne(r, err, "complete")
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, lease idempotency.Lease) error {
	r, err := s.db.ExecContext(ctx, s.q.release, lease.Scope, lease.Key, lease.Token)
	return affectedOne(r, err, "release")
}

func affectedOne(r sql.Result, err error, op string) error {
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n == 0 {
		return idempotency.ErrLeaseLost
	}
	return nil
}

// DeleteExpired deletes the records whose retention has ended and returns
// how many. Expired records are already ignored by Reserve; deleting them
// only bounds the table's size. Call it periodically (hourly, say) from
// one instance or a cron job; it uses the expires_at index.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	r, err := s.db.ExecContext(ctx, s.q.purge)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete expired: %w", err)
	}
	return r.RowsAffected()
}

// Statically check the interface.
var _ idempotency.Store = (*Store)(nil)
