package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/postgres"
	"github.com/keel-go/keel/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dropBenchDatabases()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// withPasswordRole creates a login role with a random password and returns
// the database's DSN for it, and the password.
func withPasswordRole(t *testing.T, pg *testenv.Postgres) (string, string) {
	t.Helper()
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	role := "keel_bk_" + hex.EncodeToString(b[:4])
	// ':' and '\\' need escaping in a pgpass line.
	password := "s3cret:" + hex.EncodeToString(b[4:]) + `\-pw`
	_, err = pg.DB.Exec(fmt.Sprintf("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'", role, password))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pg.DB.Exec("DROP ROLE IF EXISTS " + role) })
	u, err := url.Parse(pg.DSN)
	require.NoError(t, err)
	u.User = url.UserPassword(role, password)
	return u.String(), password
}

func seed(t *testing.T, db *sql.DB, rows int) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text UNIQUE, created timestamptz DEFAULT now())`,
		`CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers(id), amount numeric(12,2), note bytea)`,
		`CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 500`,
		`CREATE FUNCTION order_total(c bigint) RETURNS numeric LANGUAGE sql AS 'SELECT sum(amount) FROM orders WHERE customer_id = c'`,
		fmt.Sprintf(`INSERT INTO customers (name, email) SELECT 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, %d) g`, rows),
		fmt.Sprintf(`INSERT INTO orders (customer_id, amount, note) SELECT 1 + g %% %d, (g * 7919 %% 100000) / 100.0, decode(md5(g::text), 'hex') FROM generate_series(1, %d) g`, rows, rows*3),
	} {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

// fingerprint returns row counts and content checksums of every table.
func fingerprint(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	out := map[string]string{}
	for _, tbl := range tables {
		var n int
		var sum sql.NullString
		require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM %s t`, tbl)).Scan(&n, &sum))
		out[tbl] = fmt.Sprintf("%d:%s", n, sum.String)
	}
	var total string
	require.NoError(t, db.QueryRow(`SELECT order_total(1)::text`).Scan(&total))
	out["order_total(1)"] = total
	return out
}

type env struct {
	repo   *backup.Repository
	store  *local.Storage
	ident  *age.X25519Identity
	driver *postgres.Driver
	pg     *testenv.Postgres
	secret string
}

func newEnv(t *testing.T, rows int) *env {
	t.Helper()
	pg := testenv.PostgresDatabase(t)
	dsn, secret := withPasswordRole(t, pg)
	seed(t, pg.DB, rows)
	drv, err := postgres.New(postgres.Config{DSN: dsn})
	require.NoError(t, err)
	store, err := local.New(t.TempDir())
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	ident, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{
		Storage: store, Source: drv, SigningKey: key,
		Recipients: []age.Recipient{ident.Recipient()}, Identities: []age.Identity{ident},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = repo.Close() })
	return &env{repo: repo, store: store, ident: ident, driver: drv, pg: pg, secret: secret}
}

func dropAll(t *testing.T, db *sql.DB) {
	_, err := db.Exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	require.NoError(t, err)
}

func TestRoundTripDropRestore(t *testing.T) {
	e := newEnv(t, 500)
	ctx := context.Background()
	before := fingerprint(t, e.pg.DB)
	m, err := e.repo.Create(ctx)
	require.NoError(t, err)
	assert.Equal(t, "postgres", m.Driver)
	assert.NotContains(t, m.Source, e.secret)
	assert.Contains(t, m.Tools, "pg_dump")
	assert.Contains(t, m.Tools, "server")

	_, err = e.repo.Restore(ctx, m.ID, e.driver, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrTargetNotEmpty)

	dropAll(t, e.pg.DB)
	assert.NotEqual(t, before, func() map[string]string {
		var n int
		require.NoError(t, e.pg.DB.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname='public'`).Scan(&n))
		return map[string]string{"tables": fmt.Sprint(n)}
	}())
	_, err = e.repo.Restore(ctx, "latest", e.driver, backup.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, e.pg.DB))

	// Force restores over existing data.
	_, err = e.pg.DB.Exec(`DELETE FROM orders WHERE id % 2 = 0`)
	require.NoError(t, err)
	_, err = e.repo.Restore(ctx, m.ID, e.driver, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, e.pg.DB))
}

func TestRestoreIntoAnotherDatabase(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	before := fingerprint(t, e.pg.DB)
	_, err := e.repo.Create(ctx)
	require.NoError(t, err)
	other := testenv.PostgresDatabase(t)
	target, err := postgres.New(postgres.Config{DSN: other.DSN})
	require.NoError(t, err)
	_, err = e.repo.Restore(ctx, "", target, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrOtherSource, "another database needs AllowOtherSource")
	_, err = e.repo.Restore(ctx, "", target, backup.RestoreOptions{AllowOtherSource: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, other.DB))
}

func TestCorruptBackupIsRefusedAndTargetUntouched(t *testing.T) {
	e := newEnv(t, 200)
	ctx := context.Background()
	m, err := e.repo.Create(ctx)
	require.NoError(t, err)
	p := filepath.Join(e.store.Dir(), m.Object)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-10] ^= 0x80
	require.NoError(t, os.WriteFile(p, b, 0o600))

	other := testenv.PostgresDatabase(t)
	target, err := postgres.New(postgres.Config{DSN: other.DSN})
	require.NoError(t, err)
	_, err = e.repo.Restore(ctx, m.ID, target, backup.RestoreOptions{AllowOtherSource: true})
	require.ErrorIs(t, err, backup.ErrCorrupt)
	empty, err := target.Empty(ctx)
	require.NoError(t, err)
	assert.True(t, empty, "nothing may be written from a corrupt backup")
}

func TestTrialRestoreVerify(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	_, err := e.repo.Create(ctx)
	require.NoError(t, err)
	v, err := e.repo.Verify(ctx, "", backup.VerifyOptions{Level: backup.VerifyRestore, Trial: e.driver, SanityQuery: "SELECT count(*) FROM orders"})
	require.NoError(t, err)
	assert.Equal(t, "300", v.Detail)
	_, err = e.repo.Verify(ctx, "", backup.VerifyOptions{Level: backup.VerifyRestore, Trial: e.driver, SanityQuery: "SELECT count(*) FROM no_such_table"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no_such_table")
	// No scratch database is left behind.
	var n int
	require.NoError(t, e.pg.DB.QueryRow(`SELECT count(*) FROM pg_database WHERE datname LIKE 'keel_verify_%'`).Scan(&n))
	assert.Zero(t, n)
}

func TestFailedDumpProducesNoBackup(t *testing.T) {
	e := newEnv(t, 10)
	u, err := url.Parse(e.pg.DSN)
	require.NoError(t, err)
	u.Path = "/keel_no_such_database"
	drv, err := postgres.New(postgres.Config{DSN: u.String()})
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: e.store, Source: drv, SigningKey: key, Unencrypted: true})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	_, err = repo.Create(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "keel_no_such_database")

	// A cancelled run leaves nothing either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.repo.Create(ctx)
	require.Error(t, err)
	names, err := e.store.List(context.Background())
	require.NoError(t, err)
	assert.Subset(t, []string{backup.RepositoryObject, backup.IndexObject}, names, "no backup object or manifest")
}

// TestNoSecretReachesTheTools records the argv and environment of every
// pg_dump and pg_restore run (from their own /proc/<pid>/cmdline and
// /proc/<pid>/environ) during a backup, a restore and a failed restore:
// neither the DSN's password, nor its sslpassword, nor anything of this
// process's environment (an API key, a database URL, PGPASSWORD) may
// appear; the password reaches them in a 0600 file in a 0700 directory
// that is gone afterwards.
func TestNoSecretReachesTheTools(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc")
	}
	pg := testenv.PostgresDatabase(t)
	dsn, secret := withPasswordRole(t, pg)
	seed(t, pg.DB, 200)
	sslSecret := "sslkey-pass-" + secret
	secrets, tmp := testenv.ServiceEnv(t, secret, "PGPASSWORD")
	secrets["password"], secrets["sslpassword"] = secret, sslSecret

	spy := testenv.NewToolSpy(t)
	drv, err := postgres.New(postgres.Config{DSN: dsn + "&sslpassword=" + url.QueryEscape(sslSecret),
		PgDump: spy.Path("pg_dump"), PgRestore: spy.Path("pg_restore")})
	require.NoError(t, err)
	store, err := local.New(t.TempDir())
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: store, Source: drv, SigningKey: key, Unencrypted: true})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	ctx := context.Background()
	before := fingerprint(t, pg.DB)
	_, err = repo.Create(ctx)
	require.NoError(t, err)
	_, err = repo.Restore(ctx, "latest", drv, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, pg.DB))
	require.Error(t, drv.Restore(ctx, strings.NewReader("not a dump"), false), "a failing pg_restore")

	calls := spy.Calls()
	runs := map[string]int{}
	for _, c := range calls {
		assert.Empty(t, c.Leaks(secrets), "%q", c.Args)
		assert.Empty(t, c.ForeignEnv("PGPASSFILE", "PGSERVICEFILE"), "%s inherited these", c.Program)
		if slicesContainsPrefix(c.Args, "--dbname=") {
			runs[c.Program]++
			assert.Len(t, c.Files, 2, "%s gets a pgpass and a service file", c.Program)
			for _, f := range c.Files {
				assert.Regexp(t, ` 600 700$`, f, "secret file and its directory are private")
			}
		}
	}
	assert.Equal(t, map[string]int{"pg_dump": 1, "pg_restore": 2}, runs, "every run was recorded")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the secret files are removed, also after a failure")
}

func slicesContainsPrefix(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

func TestNewRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x/y", "postgres:///db", "postgres://host"} {
		_, err := postgres.New(postgres.Config{DSN: dsn})
		require.Error(t, err, dsn)
		assert.True(t, strings.HasPrefix(err.Error(), "postgres: "))
	}
	d, err := postgres.New(postgres.Config{DSN: "postgres://app:hunter2@db:5432/sales?sslmode=require&password=x"})
	require.NoError(t, err)
	assert.Equal(t, "postgres://app@db:5432/sales", d.Name())
}

func TestOlderClientThanServerFailsClearly(t *testing.T) {
	pg := testenv.PostgresDatabase(t)
	fake := filepath.Join(t.TempDir(), "pg_dump")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"), 0o755))
	drv, err := postgres.New(postgres.Config{DSN: pg.DSN, PgDump: fake})
	require.NoError(t, err)
	_, err = drv.Dump(context.Background(), io.Discard)
	require.ErrorIs(t, err, backup.ErrToolVersion)
	assert.Contains(t, err.Error(), "pg_dump 9.6")
}

func TestSourceIdentityHasNoCredentials(t *testing.T) {
	d, err := postgres.New(postgres.Config{DSN: "postgres://App:hunter2@DB.Example:5433/sales?sslmode=require&sslpassword=x"})
	require.NoError(t, err)
	assert.Equal(t, backup.SourceIdentity{Driver: "postgres", Host: "db.example", Port: 5433, Database: "sales"}, d.SourceIdentity())
	other, err := postgres.New(postgres.Config{DSN: "postgres://backup@db.example/sales"})
	require.NoError(t, err)
	assert.Equal(t, d.SourceIdentity(), func() backup.SourceIdentity {
		id := other.SourceIdentity()
		id.Port = 5433
		return id
	}(), "the user is not part of the identity")
	assert.Equal(t, 5432, other.SourceIdentity().Port, "the default port is filled in")
	assert.NotContains(t, d.SourceIdentity().String(), "hunter2")
}
