package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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

func newStore(t testing.TB, b backend) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db, _, _ := b.open(t)
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

// TestMiddlewareConcurrentSameKey: 100 requests with one key race through
// the HTTP middleware on the real database (as many instances would); the
// handler's side effect runs exactly once, the rest get 409 or the replay.
func TestMiddlewareConcurrentSameKey(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, b)
			m, err := idempotency.New(idempotency.Config{Store: s})
			require.NoError(t, err)
			mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m})
			require.NoError(t, err)
			var runs atomic.Int64
			h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs.Add(1)
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, "order 1")
			}))

			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				mu    sync.Mutex
				seen  = map[string]int{}
			)
			for range 100 {
				wg.Go(func() {
					r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"sku":"a"}`))
					r.Header.Set("Idempotency-Key", "same")
					w := httptest.NewRecorder()
					<-start
					h.ServeHTTP(w, r)
					outcome := fmt.Sprint(w.Code, " replayed=", w.Header().Get(idempotency.ReplayedHeader))
					mu.Lock()
					seen[outcome]++
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int64(1), runs.Load(), "side effect exactly once")
			assert.Equal(t, 1, seen["201 replayed="], "one request ran: %v", seen)
			assert.Equal(t, 99, seen["409 replayed="]+seen["201 replayed=true"], "the rest got 409 or the replay: %v", seen)
		})
	}
}
