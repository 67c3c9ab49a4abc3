// Package store keeps the sales API's data in SQLite (the default, embedded)
// or PostgreSQL, through database/sql. It holds rows as they are at rest:
// customer email and phone arrive here already encrypted, with a blind index
// for lookup; the store never sees them in clear.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for -db postgres://
	_ "modernc.org/sqlite"             // "sqlite" driver, the embedded default

	"github.com/keel-go/keel/metrics/sqlmetrics"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("store: not found")

// Dialect names the SQL flavour of a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the sales database. It is safe for concurrent use.
type Store struct {
	DB      *sql.DB
	Dialect Dialect
	// SQLitePath is the database file when Dialect is SQLite.
	SQLitePath string

	metrics *sqlmetrics.DB
}

// Telemetry configures the store's database metrics (metrics/sqlmetrics).
type Telemetry struct {
	// SlowQueryThreshold logs (to Logger) and counts every statement at
	// least this slow. Zero means no slow-query log.
	SlowQueryThreshold time.Duration
	// Logger receives the slow-query log.
	Logger *slog.Logger
}

// Open connects to dsn: a postgres:// URL, or else a SQLite file path. Every
// statement is measured by metrics/sqlmetrics (db.client.operation.duration
// and the pool, on the otel global MeterProvider).
func Open(ctx context.Context, dsn string, tel Telemetry) (*Store, error) {
	s := &Store{}
	cfg := sqlmetrics.Config{SlowQueryThreshold: tel.SlowQueryThreshold, Logger: tel.Logger}
	open := func(driverName, dsn string) (*sql.DB, error) {
		db, err := sqlmetrics.Open(driverName, dsn, cfg)
		if err != nil {
			return nil, err
		}
		s.metrics = db
		return db.DB, nil
	}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.Dialect = Postgres
		cfg.System = "postgresql"
		s.DB, err = open("pgx", dsn)
	} else {
		s.Dialect, s.SQLitePath = SQLite, dsn
		// One connection: SQLite has one writer at a time anyway, and queueing
		// writers in database/sql's pool is far cheaper than SQLite's busy
		// handler, which sleeps in growing steps when writers collide. Nothing
		// in the API uses the pool while it holds a transaction. Immediate
		// transactions take the write lock up front (no lock upgrades).
		cfg.System = "sqlite"
		s.DB, err = open("sqlite", "file:"+dsn+
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate")
		if err == nil {
			s.DB.SetMaxOpenConns(1)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := s.DB.PingContext(ctx); err != nil {
		_ = s.metrics.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return s, nil
}

// Close closes the database and stops its pool metrics.
func (s *Store) Close() error { return s.metrics.Close() }

// q rewrites a query written with ? placeholders for the store's dialect.
func (s *Store) q(query string) string {
	if s.Dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) blob() string {
	if s.Dialect == Postgres {
		return "BYTEA"
	}
	return "BLOB"
}

// Migrate creates the tables if they do not exist.
func (s *Store) Migrate(ctx context.Context) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS customers (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL,
			email_enc ` + s.blob() + ` NOT NULL,
			email_bidx TEXT NOT NULL,
			phone_enc ` + s.blob() + ` NOT NULL,
			company TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS customers_email_bidx ON customers (email_bidx)`,
		`CREATE TABLE IF NOT EXISTS licenses (
			id TEXT PRIMARY KEY,
			customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
			product TEXT NOT NULL,
			seats INTEGER NOT NULL,
			expires_at BIGINT NOT NULL,
			created_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS licenses_customer ON licenses (customer_id)`,
		`CREATE TABLE IF NOT EXISTS orders (
			id TEXT PRIMARY KEY,
			customer_id TEXT NOT NULL REFERENCES customers(id),
			currency TEXT NOT NULL,
			total_cents BIGINT NOT NULL,
			status TEXT NOT NULL,
			payment_id TEXT NOT NULL,
			created_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS orders_created ON orders (created_at)`,
		`CREATE TABLE IF NOT EXISTS order_items (
			order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
			line INTEGER NOT NULL,
			sku TEXT NOT NULL,
			qty INTEGER NOT NULL,
			unit_price_cents BIGINT NOT NULL,
			PRIMARY KEY (order_id, line))`,
	}
	for _, stmt := range stmts {
		if _, err := s.DB.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return s.migrateOrderKeys(ctx)
}

// migrateOrderKeys gives the orders table its idempotency_key column (NULL
// for orders taken without a key, and for those written before the column
// existed) under a unique index: the database itself refuses a second order
// for one key, whatever the idempotency record store says.
func (s *Store) migrateOrderKeys(ctx context.Context) error {
	has, err := s.hasColumn(ctx, "orders", "idempotency_key")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	stmts := []string{`CREATE UNIQUE INDEX IF NOT EXISTS orders_idempotency_key ON orders (idempotency_key)`}
	if !has {
		// Instances upgrading together may race here; PostgreSQL's IF NOT
		// EXISTS absorbs that, and SQLite has one writer per file.
		add := `ALTER TABLE orders ADD COLUMN idempotency_key TEXT`
		if s.Dialect == Postgres {
			add = `ALTER TABLE orders ADD COLUMN IF NOT EXISTS idempotency_key TEXT`
		}
		stmts = append([]string{add}, stmts...)
	}
	for _, stmt := range stmts {
		if _, err := s.DB.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return nil
}

func (s *Store) hasColumn(ctx context.Context, table, column string) (bool, error) {
	query := `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`
	if s.Dialect == Postgres {
		query = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	var n int
	err := s.DB.QueryRowContext(ctx, s.q(query), table, column).Scan(&n)
	return n > 0, err
}

func (s *Store) Ping(ctx context.Context) error { return s.DB.PingContext(ctx) }

// InTx runs fn in a transaction and commits it if fn succeeds; otherwise it
// rolls back and returns fn's error.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
