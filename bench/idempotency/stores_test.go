package idempotency

import (
	"context"
	"database/sql"
	"net"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/redisstore"
	"github.com/keel-go/keel/idempotency/sqlstore"
	"github.com/keel-go/keel/internal/testenv"
)

// backend opens a store on a fresh namespace, its connections counted by rt
// (nil rt for SQLite, which has no network).
type backend struct {
	name string
	open func(b *testing.B, rt *RoundTrips) idempotency.Store
}

var backends = []backend{
	{"memory", func(*testing.B, *RoundTrips) idempotency.Store { return idempotency.NewMemoryStore() }},
	{"postgres", func(b *testing.B, rt *RoundTrips) idempotency.Store {
		pg := testenv.PostgresSchema(b)
		cfg, err := pgx.ParseConfig(pg.DSN)
		if err != nil {
			b.Fatal(err)
		}
		cfg.DialFunc = rt.DialContext
		return sqlStore(b, stdlib.OpenDB(*cfg), sqlstore.Postgres)
	}},
	{"mysql", mysqlBackend(sqlstore.MySQL, false)},
	{"mysql-interpolate", mysqlBackend(sqlstore.MySQL, true)},
	{"mariadb", mysqlBackend(sqlstore.MariaDB, false)},
	{"mariadb-interpolate", mysqlBackend(sqlstore.MariaDB, true)},
	{"sqlite", func(b *testing.B, _ *RoundTrips) idempotency.Store {
		dsn := "file:" + filepath.Join(b.TempDir(), "idem.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			b.Fatal(err)
		}
		return sqlStore(b, db, sqlstore.SQLite)
	}},
	{"redis", func(b *testing.B, rt *RoundTrips) idempotency.Store {
		r := testenv.RedisPrefix(b)
		client := redis.NewClient(&redis.Options{Addr: r.Addr, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return rt.DialContext(ctx, network, addr)
		}})
		b.Cleanup(func() { _ = client.Close() })
		s, err := redisstore.New(redisstore.Config{Client: client, Prefix: r.Prefix})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}},
}

// mysqlBackend opens the local MariaDB with the given dialect;
// interpolate sets the driver's interpolateParams, which sends each
// statement with its arguments in one exchange instead of prepare+execute.
func mysqlBackend(d sqlstore.Dialect, interpolate bool) func(*testing.B, *RoundTrips) idempotency.Store {
	return func(b *testing.B, rt *RoundTrips) idempotency.Store {
		my := testenv.MySQLDatabase(b)
		cfg := my.Config.Clone()
		cfg.DBName = my.Database
		cfg.InterpolateParams = interpolate
		// A network name per database: the driver's registry is global.
		cfg.Net = "keel-counting-tcp-" + strconv.FormatInt(seq.Add(1), 10)
		mysql.RegisterDialContext(cfg.Net, func(ctx context.Context, addr string) (net.Conn, error) {
			return rt.DialContext(ctx, "tcp", addr)
		})
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return sqlStore(b, sql.OpenDB(conn), d)
	}
}

func sqlStore(b *testing.B, db *sql.DB, d sqlstore.Dialect) idempotency.Store {
	b.Cleanup(func() { _ = db.Close() })
	s, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: d})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

var outcome = idempotency.Outcome{
	Status: 201,
	Header: map[string][]string{"Content-Type": {"application/json"}, "Location": {"/orders/42"}},
	Body:   []byte(`{"id":42,"sku":"keel-pro","quantity":3,"total":"129.00","currency":"EUR"}`),
}

func request(key, token string) idempotency.ReserveRequest {
	return idempotency.ReserveRequest{
		Scope: `"acme" POST /orders`, Key: key, Fingerprint: []byte("0123456789abcdef0123456789abcdef"),
		Token: token, Lease: time.Minute, TTL: time.Hour,
	}
}

// firstRequest is what a request with a new key costs the store: Reserve
// (proceed) and Complete.
// seq numbers the keys of first requests, unique across runs.
var seq atomic.Int64

func firstRequest(b *testing.B, s idempotency.Store, i int) {
	ctx := context.Background()
	key := "first-" + strconv.Itoa(i)
	req := request(key, "token-"+strconv.Itoa(i))
	res, err := s.Reserve(ctx, req)
	if err != nil || res.Decision != idempotency.Proceed {
		b.Fatalf("reserve %s: %v %v", key, res.Decision, err)
	}
	if err := s.Complete(ctx, idempotency.Lease{Scope: req.Scope, Key: key, Token: req.Token}, outcome); err != nil {
		b.Fatal(err)
	}
}

// replay is what a retry of a completed request costs: one Reserve.
func replay(b *testing.B, s idempotency.Store, i int) {
	res, err := s.Reserve(context.Background(), request("replayed", "token-r-"+strconv.Itoa(i)))
	if err != nil || res.Decision != idempotency.Replay {
		b.Fatalf("replay: %v %v", res.Decision, err)
	}
}

// BenchmarkStore measures each store on the two paths of a request. The
// round-trips/op metric counts client socket exchanges (0 for the
// in-process memory and SQLite stores).
func BenchmarkStore(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			rt := &RoundTrips{}
			s := be.open(b, rt)
			// Warm up: connections open, statements and scripts cached, and
			// the record the replay path reads.
			firstRequest(b, s, -1)
			req := request("replayed", "token-replayed")
			if _, err := s.Reserve(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			if err := s.Complete(context.Background(), idempotency.Lease{Scope: req.Scope, Key: req.Key, Token: req.Token}, outcome); err != nil {
				b.Fatal(err)
			}
			replay(b, s, -1)

			for _, path := range []struct {
				name string
				run  func(*testing.B, idempotency.Store, int)
			}{{"first", firstRequest}, {"replay", replay}} {
				b.Run(path.name, func(b *testing.B) {
					b.ReportAllocs()
					rt.Reset()
					n := 0
					for b.Loop() {
						path.run(b, s, int(seq.Add(1)))
						n++
					}
					b.ReportMetric(float64(rt.Load())/float64(n), "round-trips/op")
				})
			}
		})
	}
}
