package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// PostgresEnv names the variable that overrides the PostgreSQL DSN.
const PostgresEnv = "KEEL_TEST_POSTGRES_DSN"

// DefaultPostgresDSN is where the local PostgreSQL is looked for.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Postgres is a PostgreSQL namespace owned by one test.
type Postgres struct {
	// DB is connected to the namespace: for a schema, search_path points at it.
	DB *sql.DB
	// DSN connects to the namespace (database/sql driver name "pgx").
	DSN string
	// Schema is the schema created for the test ("" for PostgresDatabase).
	Schema string
	// Database is the database the DSN names.
	Database string
}

// PostgresSchema gives tb a fresh schema in the test database, with a DB
// whose search_path is that schema. The schema and everything in it are
// dropped when tb ends.
func PostgresSchema(tb testing.TB) *Postgres {
	tb.Helper()
	admin, base := postgresAdmin(tb)
	schema := namespace(tb)
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("testenv: PostgreSQL: create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("testenv: PostgreSQL: drop schema %s: %v", schema, err)
		}
	})
	q := base.Query()
	q.Set("search_path", schema)
	base.RawQuery = q.Encode()
	dsn := base.String()
	return &Postgres{DB: openPostgres(tb, dsn), DSN: dsn, Schema: schema, Database: dbName(base)}
}

// PostgresDatabase gives tb a fresh, empty database, for tools that work on a
// whole database (pg_dump, pg_restore). It is dropped when tb ends.
func PostgresDatabase(tb testing.TB) *Postgres {
	tb.Helper()
	admin, base := postgresAdmin(tb)
	name := namespace(tb)
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testenv: PostgreSQL: create database %s: %v", name, err)
	}
	base.Path = "/" + name
	dsn := base.String()
	p := &Postgres{DSN: dsn, Database: name}
	// Registered before the DB's own cleanup so that it runs after it:
	// the database can only be dropped once every connection is closed.
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("testenv: PostgreSQL: drop database %s: %v", name, err)
		}
	})
	p.DB = openPostgres(tb, dsn)
	return p
}

// postgresAdmin connects to the configured PostgreSQL, or skips/fails tb.
func postgresAdmin(tb testing.TB) (*sql.DB, *url.URL) {
	tb.Helper()
	dsn := envOr(PostgresEnv, DefaultPostgresDSN)
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("testenv: %s must be a postgres:// URL, got an unparsable value", PostgresEnv)
	}
	db, err := sql.Open("pgx", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if db != nil {
			_ = db.Close()
		}
		unavailable(tb, "PostgreSQL", u.Redacted(), PostgresEnv, err)
		return nil, nil // unreachable: unavailable ends the test
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db, u
}

func openPostgres(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("testenv: PostgreSQL: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func dbName(u *url.URL) string {
	if len(u.Path) > 1 {
		return u.Path[1:]
	}
	return ""
}

// String describes the namespace without credentials.
func (p *Postgres) String() string {
	return fmt.Sprintf("postgres database %q schema %q", p.Database, p.Schema)
}
