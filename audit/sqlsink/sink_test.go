package sqlsink_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
	"github.com/keel-go/keel/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

var key = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

type backend struct {
	name    string
	dialect sqlsink.Dialect
	open    func(t *testing.T) *sql.DB
}

var backends = []backend{
	{"postgres", sqlsink.Postgres, func(t *testing.T) *sql.DB { return testenv.PostgresSchema(t).DB }},
	{"mysql", sqlsink.MySQL, func(t *testing.T) *sql.DB { return testenv.MySQLDatabase(t).DB }},
	{"sqlite", sqlsink.SQLite, func(t *testing.T) *sql.DB {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "audit.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}},
}

func logEvents(t *testing.T, sink *sqlsink.Sink, from, n int) {
	t.Helper()
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key, CheckpointEvery: 7})
	require.NoError(t, err)
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		outcome := audit.Success
		if i%4 == 0 {
			outcome = audit.Denied
		}
		require.NoError(t, l.Log(context.Background(), audit.Event{
			Time:     base.Add(time.Duration(i) * time.Minute),
			Actor:    audit.Actor{ID: fmt.Sprintf("user-%d", i%3), Type: "user"},
			Action:   "license.update",
			Resource: audit.Resource{Type: "license", ID: fmt.Sprintf("lic-%d", i%5)},
			Outcome:  outcome,
			Tenant:   "acme",
		}))
	}
	require.NoError(t, l.Close())
}

func verify(t *testing.T, src audit.Source) (audit.VerifyReport, error) {
	t.Helper()
	return audit.Verify(context.Background(), src, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, FromStart: true})
}

func TestSinkWritesVerifiesAndQueries(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: b.dialect})
			require.NoError(t, err)
			logEvents(t, sink, 0, 20)
			logEvents(t, sink, 20, 10) // reopened: the chain continues

			rep, err := verify(t, sink)
			require.NoError(t, err)
			assert.Equal(t, uint64(30), rep.Events)
			assert.True(t, rep.Closed)

			var got []string
			base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
			for r, err := range audit.Query(context.Background(), sink, audit.Filter{
				ActorID: "user-1", Outcome: audit.Success, Since: base.Add(5 * time.Minute), Until: base.Add(25 * time.Minute),
			}) {
				require.NoError(t, err)
				got = append(got, r.Event.Resource.ID)
			}
			// user-1 is i%3==1: 7, 10, 13, 16, 19, 22 within [5,25); success excludes i%4==0 (16).
			assert.Equal(t, []string{"lic-2", "lic-0", "lic-3", "lic-4", "lic-2"}, got)

			n := 0
			for _, err := range audit.Query(context.Background(), sink, audit.Filter{Limit: 3}) {
				require.NoError(t, err)
				n++
			}
			assert.Equal(t, 3, n)
		})
	}
}

func TestSinkDetectsTampering(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: b.dialect, Table: "trail"})
			require.NoError(t, err)
			logEvents(t, sink, 0, 10)

			// A forged outcome in the line itself breaks the hash.
			var line []byte
			require.NoError(t, db.QueryRow("SELECT line FROM trail WHERE seq = 3").Scan(&line))
			forged := []byte(string(line))
			copy(forged[len(`{"v":1,"seq":3,"kind":"`):], "EVENT")
			_, err = db.Exec(rebind(b.dialect, "UPDATE trail SET line = ? WHERE seq = 3"), forged)
			require.NoError(t, err)
			_, err = verify(t, sink)
			require.ErrorIs(t, err, audit.ErrMalformed)
			_, err = db.Exec(rebind(b.dialect, "UPDATE trail SET line = ? WHERE seq = 3"), line)
			require.NoError(t, err)
			_, err = verify(t, sink)
			require.NoError(t, err)

			// A deleted row is named.
			_, err = db.Exec("DELETE FROM trail WHERE seq = 5")
			require.NoError(t, err)
			_, err = verify(t, sink)
			require.ErrorIs(t, err, audit.ErrChainBroken)
			var ve *audit.VerifyError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, uint64(5), ve.Seq)
			assert.Contains(t, ve.Where, "row seq=6")

			// An edited search column cannot make a record match.
			_, err = db.Exec("UPDATE trail SET actor_id = 'mallory' WHERE seq = 2")
			require.NoError(t, err)
			for _, err := range audit.Query(context.Background(), sink, audit.Filter{ActorID: "mallory"}) {
				require.NoError(t, err)
				t.Fatal("a record matched through an edited column")
			}
		})
	}
}

func rebind(d sqlsink.Dialect, q string) string {
	if d == sqlsink.Postgres {
		return "UPDATE trail SET line = $1 WHERE seq = 3"
	}
	return q
}

func TestNewValidatesConfig(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer db.Close()
	for _, tt := range []struct {
		cfg  sqlsink.Config
		want string
	}{
		{sqlsink.Config{Dialect: sqlsink.SQLite}, "Config.DB"},
		{sqlsink.Config{DB: db}, "Config.Dialect"},
		{sqlsink.Config{DB: db, Dialect: sqlsink.SQLite, Table: "x; DROP TABLE y"}, "Config.Table"},
	} {
		_, err := sqlsink.New(tt.cfg)
		assert.ErrorContains(t, err, tt.want)
	}
}

// TestLargeBatchIsAtomic appends a batch larger than one INSERT holds: it
// is stored whole, and a batch that fails part-way stores nothing.
func TestLargeBatchIsAtomic(t *testing.T) {
	dir := t.TempDir()
	fs, err := audit.NewFileSink(audit.FileSinkConfig{Dir: dir})
	require.NoError(t, err)
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{fs}, SigningKey: key})
	require.NoError(t, err)
	for i := range 450 {
		require.NoError(t, l.Log(context.Background(), audit.Event{Action: "customer.read", Outcome: audit.Success,
			Resource: audit.Resource{Type: "customer", ID: fmt.Sprint(i)}}))
	}
	require.NoError(t, l.Close())
	var recs []*audit.Record
	for line, err := range audit.DirSource(dir).Lines(context.Background()) {
		require.NoError(t, err)
		r, err := audit.DecodeLine(append([]byte(nil), line.Bytes...))
		require.NoError(t, err)
		recs = append(recs, r)
	}
	require.Greater(t, len(recs), 400)

	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			sink, err := sqlsink.New(sqlsink.Config{DB: b.open(t), Dialect: b.dialect})
			require.NoError(t, err)
			_, err = sink.Open(context.Background())
			require.NoError(t, err)

			broken := append(append([]*audit.Record(nil), recs...), recs[300]) // a duplicate seq in the last INSERT
			require.Error(t, sink.Append(context.Background(), broken, true))
			n := 0
			for _, err := range sink.Lines(context.Background()) {
				require.NoError(t, err)
				n++
			}
			assert.Zero(t, n, "a failed batch stores nothing")

			require.NoError(t, sink.Append(context.Background(), recs, true))
			rep, err := verify(t, sink)
			require.NoError(t, err)
			assert.Equal(t, uint64(450), rep.Events)
		})
	}
}
