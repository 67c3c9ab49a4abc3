package testenv

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder stands in for a test so that the skip and fail branches can be
// observed without skipping or failing the real test. Skip and Fatal end the
// calling goroutine, as the testing package's do.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	skipped string
	fatal   string
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.TB.Name() + "/recorder" }
func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// runHelper calls fn with a recorder on its own goroutine and reports what it did.
func runHelper(t *testing.T, fn func(testing.TB)) (skipped, fatal string) {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
	}()
	<-done
	return rec.skipped, rec.fatal
}

// unreachable points every service at a closed local port.
func unreachable(t *testing.T) {
	t.Setenv(PostgresEnv, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1")
	t.Setenv(MySQLEnv, "root@tcp(127.0.0.1:1)/test?timeout=1s")
	t.Setenv(RedisEnv, "127.0.0.1:1")
}

var helpers = []struct {
	service, env string
	call         func(testing.TB)
}{
	{"PostgreSQL", PostgresEnv, func(tb testing.TB) { PostgresSchema(tb) }},
	{"PostgreSQL", PostgresEnv, func(tb testing.TB) { PostgresDatabase(tb) }},
	{"MySQL/MariaDB", MySQLEnv, func(tb testing.TB) { MySQLDatabase(tb) }},
	{"Redis", RedisEnv, func(tb testing.TB) { RedisPrefix(tb) }},
}

func TestAbsentServiceSkipsOutsideCI(t *testing.T) {
	unreachable(t)
	t.Setenv("CI", "")
	for _, h := range helpers {
		skipped, fatal := runHelper(t, h.call)
		assert.Empty(t, fatal, h.service)
		assert.Contains(t, skipped, h.service, "the skip names the service")
		assert.Contains(t, skipped, h.env, "the skip names the variable to set")
		assert.Contains(t, skipped, "127.0.0.1:1", "the skip says where it looked")
	}
}

func TestAbsentServiceFailsInCI(t *testing.T) {
	unreachable(t)
	t.Setenv("CI", "true")
	for _, h := range helpers {
		skipped, fatal := runHelper(t, h.call)
		assert.Empty(t, skipped, h.service)
		assert.Contains(t, fatal, h.service, "the failure names the service")
		assert.Contains(t, fatal, "CI=true")
		assert.Contains(t, fatal, h.env)
	}
}

func TestNamespaceIsFreshAndIdentifierSafe(t *testing.T) {
	a, b := namespace(t), namespace(t)
	assert.NotEqual(t, a, b)
	for _, ns := range []string{a, b} {
		assert.LessOrEqual(t, len(ns), 60)
		assert.Regexp(t, `^keel_[a-z0-9_]+_[0-9a-f]{8}$`, ns)
	}
	t.Run("Name With/Slashes & Symbols!", func(t *testing.T) {
		assert.Regexp(t, `^keel_[a-z0-9_]+$`, namespace(t))
	})
}

func TestPostgresSchemaIsIsolatedAndDropped(t *testing.T) {
	var schema string
	t.Run("owner", func(t *testing.T) {
		p := PostgresSchema(t)
		schema = p.Schema
		_, err := p.DB.Exec("CREATE TABLE things (id int)")
		require.NoError(t, err)
		var where string
		require.NoError(t, p.DB.QueryRow(
			"SELECT table_schema FROM information_schema.tables WHERE table_name = 'things' AND table_schema = current_schema()").Scan(&where))
		assert.Equal(t, p.Schema, where, "unqualified names land in the test's schema")
	})
	admin, _ := postgresAdmin(t)
	var n int
	require.NoError(t, admin.QueryRow("SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n))
	assert.Zero(t, n, "schema %s is dropped at cleanup", schema)
}

func TestPostgresDatabaseIsDropped(t *testing.T) {
	var name string
	t.Run("owner", func(t *testing.T) {
		p := PostgresDatabase(t)
		name = p.Database
		_, err := p.DB.Exec("CREATE TABLE t (id int)")
		require.NoError(t, err)
		var current string
		require.NoError(t, p.DB.QueryRow("SELECT current_database()").Scan(&current))
		assert.Equal(t, name, current)
	})
	admin, _ := postgresAdmin(t)
	var n int
	require.NoError(t, admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
	assert.Zero(t, n)
}

func TestMySQLDatabaseIsDropped(t *testing.T) {
	var name string
	t.Run("owner", func(t *testing.T) {
		m := MySQLDatabase(t)
		name = m.Database
		_, err := m.DB.Exec("CREATE TABLE t (id int)")
		require.NoError(t, err)
		var current string
		require.NoError(t, m.DB.QueryRow("SELECT DATABASE()").Scan(&current))
		assert.Equal(t, name, current)
	})
	m := MySQLDatabase(t) // a second namespace, used here to look at the server
	var n int
	require.NoError(t, m.DB.QueryRow("SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n))
	assert.Zero(t, n)
}

func TestRedisPrefixKeysAreDeleted(t *testing.T) {
	var prefix string
	t.Run("owner", func(t *testing.T) {
		r := RedisPrefix(t)
		prefix = r.Prefix
		require.True(t, strings.HasSuffix(prefix, ":"))
		for i := range 1200 { // more than one SCAN page
			require.NoError(t, r.Client.Set(context.Background(), r.Key(fmt.Sprint(i)), "v", 0).Err())
		}
	})
	r := RedisPrefix(t)
	keys, err := r.Client.Keys(context.Background(), prefix+"*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys)
}
