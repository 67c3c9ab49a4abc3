package mysql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
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
	"github.com/keel-go/keel/backup/mysql"
	"github.com/keel-go/keel/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// withPasswordUser creates a user with a random password and returns a
// DSN for the test database as that user, and the password.
func withPasswordUser(t *testing.T, my *testenv.MySQL) (string, string) {
	t.Helper()
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	user := "keel_bk_" + hex.EncodeToString(b[:4])
	password := "s3cret-" + hex.EncodeToString(b[4:]) + `-"q\`
	_, err = my.DB.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, strings.ReplaceAll(password, `\`, `\\`)))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = my.DB.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	_, err = my.DB.Exec(fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%'", user))
	require.NoError(t, err)
	cfg := my.Config.Clone()
	cfg.User, cfg.Passwd = user, password
	return cfg.FormatDSN(), password
}

func seed(t *testing.T, db *sql.DB, rows int) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE customers (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE) ENGINE=InnoDB`,
		`CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT, amount DECIMAL(12,2), note VARBINARY(32), FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB`,
		`CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 500`,
		`CREATE TRIGGER orders_amount BEFORE INSERT ON orders FOR EACH ROW SET NEW.amount = ABS(NEW.amount)`,
		`CREATE FUNCTION order_total(c BIGINT) RETURNS DECIMAL(14,2) READS SQL DATA RETURN (SELECT SUM(amount) FROM orders WHERE customer_id = c)`,
		fmt.Sprintf(`INSERT INTO customers (name, email) SELECT CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM seq_1_to_%d`, rows),
		fmt.Sprintf(`INSERT INTO orders (customer_id, amount, note) SELECT 1 + seq %% %d, -((seq * 7919) %% 100000) / 100.0, UNHEX(MD5(seq)) FROM seq_1_to_%d`, rows, rows*3),
	} {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

func fingerprint(t *testing.T, db *sql.DB, dbName string) map[string]string {
	t.Helper()
	out := map[string]string{}
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1`, dbName)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	for _, tbl := range tables {
		var n int
		var sum sql.NullString
		q := fmt.Sprintf(`SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', %s) ORDER BY id SEPARATOR '|')) FROM %s`, map[string]string{
			"customers": "id, name, email", "orders": "id, customer_id, amount, HEX(note)"}[tbl], tbl)
		_, err := db.Exec("SET SESSION group_concat_max_len = 1 << 30")
		require.NoError(t, err)
		require.NoError(t, db.QueryRow(q).Scan(&n, &sum))
		out[tbl] = fmt.Sprintf("%d:%s", n, sum.String)
	}
	var total, trig, view sql.NullString
	require.NoError(t, db.QueryRow(`SELECT order_total(1)`).Scan(&total))
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = ?`, dbName).Scan(&trig))
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM big_orders`).Scan(&view))
	out["order_total(1)"], out["triggers"], out["big_orders"] = total.String, trig.String, view.String
	return out
}

type env struct {
	repo   *backup.Repository
	store  *local.Storage
	driver *mysql.Driver
	my     *testenv.MySQL
	secret string
}

func newEnv(t *testing.T, rows int) *env {
	my := testenv.MySQLDatabase(t)
	dsn, secret := withPasswordUser(t, my)
	seed(t, my.DB, rows)
	drv, err := mysql.New(mysql.Config{DSN: dsn})
	require.NoError(t, err)
	store, err := local.New(t.TempDir())
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	ident, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: store, Source: drv, SigningKey: key,
		Recipients: []age.Recipient{ident.Recipient()}, Identities: []age.Identity{ident}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = repo.Close() })
	return &env{repo: repo, store: store, driver: drv, my: my, secret: secret}
}

func TestRoundTripDropRestore(t *testing.T) {
	e := newEnv(t, 300)
	ctx := context.Background()
	before := fingerprint(t, e.my.DB, e.my.Database)
	m, err := e.repo.Create(ctx)
	require.NoError(t, err)
	assert.Equal(t, "mysql", m.Driver)
	assert.NotContains(t, m.Source, e.secret)
	assert.Contains(t, m.Tools, "server")

	_, err = e.repo.Restore(ctx, m.ID, e.driver, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrTargetNotEmpty)

	for _, q := range []string{"DROP VIEW big_orders", "DROP TABLE orders", "DROP TABLE customers", "DROP FUNCTION order_total"} {
		_, err := e.my.DB.Exec(q)
		require.NoError(t, err)
	}
	_, err = e.repo.Restore(ctx, "", e.driver, backup.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, e.my.DB, e.my.Database))

	_, err = e.my.DB.Exec("DELETE FROM orders WHERE id % 2 = 0")
	require.NoError(t, err)
	_, err = e.repo.Restore(ctx, m.ID, e.driver, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, e.my.DB, e.my.Database))
}

func TestRestoreIntoAnotherDatabaseAndTrial(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	before := fingerprint(t, e.my.DB, e.my.Database)
	_, err := e.repo.Create(ctx)
	require.NoError(t, err)
	other := testenv.MySQLDatabase(t)
	target, err := mysql.New(mysql.Config{DSN: other.DSN})
	require.NoError(t, err)
	_, err = e.repo.Restore(ctx, "", target, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrOtherSource, "another database needs AllowOtherSource")
	_, err = e.repo.Restore(ctx, "", target, backup.RestoreOptions{AllowOtherSource: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, other.DB, other.Database))

	v, err := e.repo.Verify(ctx, "", backup.VerifyOptions{Level: backup.VerifyRestore, Trial: e.driver, SanityQuery: "SELECT COUNT(*) FROM orders"})
	require.NoError(t, err)
	assert.Equal(t, "300", v.Detail)
}

func TestCorruptBackupIsRefused(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	m, err := e.repo.Create(ctx)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(filepath.Join(e.store.Dir(), m.Object), m.StoredSize/2))
	other := testenv.MySQLDatabase(t)
	target, err := mysql.New(mysql.Config{DSN: other.DSN})
	require.NoError(t, err)
	_, err = e.repo.Restore(ctx, m.ID, target, backup.RestoreOptions{AllowOtherSource: true})
	require.ErrorIs(t, err, backup.ErrCorrupt)
	empty, err := target.Empty(ctx)
	require.NoError(t, err)
	assert.True(t, empty)
}

func TestFailedDumpProducesNoBackup(t *testing.T) {
	e := newEnv(t, 10)
	cfg := e.my.Config.Clone()
	cfg.DBName = "keel_no_such_database"
	drv, err := mysql.New(mysql.Config{DSN: cfg.FormatDSN()})
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: e.store, Source: drv, SigningKey: key, Unencrypted: true})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	_, err = repo.Create(context.Background())
	require.Error(t, err)
	names, err := e.store.List(context.Background())
	require.NoError(t, err)
	assert.Subset(t, []string{backup.RepositoryObject, backup.IndexObject}, names, "no backup object or manifest")
}

// TestNoSecretReachesTheTools records the argv and environment of every
// mariadb-dump and mariadb run (from their own /proc/<pid>/cmdline and
// /proc/<pid>/environ) during a backup, a restore and a failed restore:
// neither the DSN's password nor anything of this process's environment
// (an API key, a database URL, MYSQL_PWD) may appear; the password reaches
// them in a 0600 defaults file in a 0700 directory that is gone afterwards.
// MariaDB checks the password, so the restore also proves the file works.
func TestNoSecretReachesTheTools(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc")
	}
	my := testenv.MySQLDatabase(t)
	dsn, secret := withPasswordUser(t, my)
	seed(t, my.DB, 100)
	secrets, tmp := testenv.ServiceEnv(t, secret, "MYSQL_PWD")
	secrets["password"] = secret

	spy := testenv.NewToolSpy(t)
	drv, err := mysql.New(mysql.Config{DSN: dsn, Dump: spy.Path("mariadb-dump"), Client: spy.Path("mariadb")})
	require.NoError(t, err)
	store, err := local.New(t.TempDir())
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: store, Source: drv, SigningKey: key, Unencrypted: true})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	ctx := context.Background()
	before := fingerprint(t, my.DB, my.Database)
	_, err = repo.Create(ctx)
	require.NoError(t, err)
	_, err = repo.Restore(ctx, "latest", drv, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, my.DB, my.Database))
	require.Error(t, drv.Restore(ctx, strings.NewReader("THIS IS NOT SQL;"), false), "a failing client")

	runs := map[string]int{}
	for _, c := range spy.Calls() {
		assert.Empty(t, c.Leaks(secrets), "%q", c.Args)
		assert.Empty(t, c.ForeignEnv(), "%s inherited these", c.Program)
		if len(c.Files) > 0 {
			runs[c.Program]++
			require.Len(t, c.Files, 1)
			assert.Regexp(t, ` 600 700$`, c.Files[0], "defaults file and its directory are private")
		}
	}
	assert.Equal(t, map[string]int{"mariadb-dump": 1, "mariadb": 2}, runs, "every run was recorded")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the defaults file is removed, also after a failure")
}

func TestNewRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "root@tcp(127.0.0.1:3306)/", "not a dsn@@"} {
		_, err := mysql.New(mysql.Config{DSN: dsn})
		require.Error(t, err, dsn)
		assert.True(t, strings.HasPrefix(err.Error(), "mysql: "))
	}
}

func TestSourceIdentityHasNoCredentials(t *testing.T) {
	d, err := mysql.New(mysql.Config{DSN: "app:hunter2@tcp(DB.Example:3307)/sales"})
	require.NoError(t, err)
	assert.Equal(t, backup.SourceIdentity{Driver: "mysql", Host: "db.example", Port: 3307, Database: "sales"}, d.SourceIdentity())
	sock, err := mysql.New(mysql.Config{DSN: "app@unix(/run/mysqld/mysqld.sock)/sales"})
	require.NoError(t, err)
	assert.Equal(t, backup.SourceIdentity{Driver: "mysql", Host: "/run/mysqld/mysqld.sock", Database: "sales"}, sock.SourceIdentity())
	assert.NotContains(t, d.SourceIdentity().String(), "hunter2")
}
