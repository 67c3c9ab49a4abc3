package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/idempotencytest"
	"github.com/keel-go/keel/idempotency/sqlstore"
	"github.com/keel-go/keel/internal/testenv"
)

func TestMain(m *testing.M) {
	// database/sql's connection openers linger briefly after Close.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// backend opens a fresh, empty database of one dialect for t.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	open    func(t testing.TB) (db *sql.DB, driver, dsn string)
}

var backends = []backend{
	{"postgres", sqlstore.Postgres, func(t testing.TB) (*sql.DB, string, string) {
		pg := testenv.PostgresSchema(t)
		return pg.DB, "pgx", pg.DSN
	}},
	{"mysql", sqlstore.MySQL, func(t testing.TB) (*sql.DB, string, string) {
		my := testenv.MySQLDatabase(t)
		return my.DB, "mysql", my.DSN
	}},
	{"mariadb", sqlstore.MariaDB, func(t testing.TB) (*sql.DB, string, string) {
		my := testenv.MySQLDatabase(t)
		return my.DB, "mysql", my.DSN
	}},
	{"sqlite", sqlstore.SQLite, func(t testing.TB) (*sql.DB, string, string) {
		dsn := sqliteDSN(filepath.Join(t.TempDir(), "idempotency.db"))
		db, err := sql.Open("sqlite", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db, "sqlite", dsn
	}},
}

// sqliteDSN waits for locks instead of failing with SQLITE_BUSY, uses WAL so
// readers do not block the writer, and starts transactions as writers so
// that CompleteTx never has to upgrade a read lock.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// maxConns bounds each test's pool, as an application's would be: the
// database servers are shared by every test running at once.
const maxConns = 8

func newStore(t testing.TB, b backend) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db, _, _ := b.open(t)
	db.SetMaxOpenConns(maxConns)
	s, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: b.dialect})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return s, db
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			idempotencytest.RunStoreTests(t, func(t *testing.T) idempotency.Store {
				s, _ := newStore(t, b)
				return s
			})
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	require.NoError(t, err)
	defer db.Close()
	tests := []struct {
		cfg  sqlstore.Config
		want string
	}{
		{sqlstore.Config{Dialect: sqlstore.Postgres}, "sqlstore: Config.DB is required"},
		{sqlstore.Config{DB: db}, "sqlstore: Config.Dialect is required"},
		{sqlstore.Config{DB: db, Dialect: 9}, "sqlstore: Config.Dialect 9 is not a known dialect"},
		{sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, Table: "x; DROP TABLE y"}, "sqlstore: Config.Table must be"},
		{sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, Table: "a.b.c"}, "sqlstore: Config.Table must be"},
	}
	for _, tc := range tests {
		_, err := sqlstore.New(tc.cfg)
		require.ErrorContains(t, err, tc.want)
	}
	s, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Table: "billing.idempotency"})
	require.NoError(t, err)
	require.Contains(t, s.Schema()[1], "CREATE INDEX IF NOT EXISTS idempotency_expires_at ON billing.idempotency")
}

func TestMigrateIsIdempotentAndDeleteExpired(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, db := newStore(t, b)
			require.NoError(t, s.Migrate(ctx), "a second Migrate is a no-op")

			for i, ttl := range []time.Duration{100 * time.Millisecond, time.Hour} {
				_, err := s.Reserve(ctx, idempotency.ReserveRequest{
					Scope: "s", Key: fmt.Sprint("k", i), Token: "t", Lease: ttl / 2, TTL: ttl,
				})
				require.NoError(t, err)
			}
			time.Sleep(300 * time.Millisecond) // the first record's retention ends on the database's clock
			n, err := s.DeleteExpired(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(1), n)
			var left int
			require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM `+sqlstore.DefaultTable).Scan(&left))
			assert.Equal(t, 1, left)
		})
	}
}
