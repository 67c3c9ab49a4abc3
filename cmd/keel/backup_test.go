package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/keel-go/keel/backup/s3/s3test"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

type cliEnv struct {
	dir, store, key, pub, identity, recipient string
}

func newCLIEnv(t *testing.T) cliEnv {
	d := t.TempDir()
	e := cliEnv{dir: d, store: filepath.Join(d, "store"), key: filepath.Join(d, "sign.key"), pub: filepath.Join(d, "sign.pub"), identity: filepath.Join(d, "age.txt")}
	out, stderr, code := runCLI(t, "backup", "keygen", "--out", filepath.Join(d, "sign"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "key id")
	st, err := os.Stat(e.key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.identity, []byte(id.String()+"\n"), 0o600))
	e.recipient = id.Recipient().String()
	return e
}

func TestBackupCommandsEndToEnd(t *testing.T) {
	e := newCLIEnv(t)
	src := filepath.Join(e.dir, "data")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "orders.csv"), []byte("1,widget\n2,gadget\n"), 0o644))
	common := []string{"--driver", "dir", "--storage", e.store, "--signing-key", e.key, "--recipient", e.recipient, "--identity", e.identity}

	for range 2 {
		out, stderr, code := runCLI(t, append([]string{"backup", "create", "--source", src}, common...)...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, out, "\tdir\t")
	}
	// The same from a config file.
	cfgPath := filepath.Join(e.dir, "backup.json")
	cfg, err := json.Marshal(map[string]any{"driver": "dir", "source": src, "storage": e.store, "signing-key": e.key,
		"recipient": []string{e.recipient}, "identity": []string{e.identity}, "compression": "gzip"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgPath, cfg, 0o600))
	_, stderr, code := runCLI(t, "backup", "create", "--config", cfgPath)
	require.Equal(t, 0, code, stderr)

	// list, with only the public key: anyone can audit.
	out, stderr, code := runCLI(t, "backup", "list", "--storage", e.store, "--verify-key", e.pub)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	assert.Contains(t, lines[1], "never")

	out, stderr, code = runCLI(t, "backup", "verify", "--config", cfgPath, "--level", "full")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "OK\tfull")
	out, _, _ = runCLI(t, "backup", "list", "--config", cfgPath, "--json")
	assert.Equal(t, 1, strings.Count(out, `"level":"full"`), out)

	target := filepath.Join(e.dir, "restored")
	_, stderr, code = runCLI(t, "backup", "restore", "--config", cfgPath, "--target", target)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "pass -allow-other-source", "another directory than the source is an explicit choice")
	assert.NotContains(t, stderr, "RestoreOptions")
	out, stderr, code = runCLI(t, "backup", "restore", "--config", cfgPath, "--target", target, "-allow-other-source")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "restored ")
	assert.Contains(t, out, "allowed by -allow-other-source")
	b, err := os.ReadFile(filepath.Join(target, "sub", "orders.csv"))
	require.NoError(t, err)
	assert.Equal(t, "1,widget\n2,gadget\n", string(b))
	_, stderr, code = runCLI(t, "backup", "restore", "--config", cfgPath, "--target", target, "-allow-other-source")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not empty")
	assert.Contains(t, stderr, "pass -force")

	// prune is a dry run without --confirm.
	out, stderr, code = runCLI(t, "backup", "prune", "--config", cfgPath, "--keep-last", "1")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "would remove")
	assert.Contains(t, out, "dry run")
	names, _ := filepath.Glob(filepath.Join(e.store, "*.manifest.json"))
	assert.Len(t, names, 3)
	out, stderr, code = runCLI(t, "backup", "prune", "--config", cfgPath, "--keep-last", "1", "--confirm")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 2, strings.Count(out, "\tremove"), out)
	names, _ = filepath.Glob(filepath.Join(e.store, "*.manifest.json"))
	assert.Len(t, names, 1, "the newest, which is also the newest verified, stays")
}

func TestBackupTrialRestoreWithSQLite(t *testing.T) {
	e := newCLIEnv(t)
	dbPath := filepath.Join(e.dir, "app.db")
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY); INSERT INTO orders VALUES (1), (2), (3)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	t.Setenv("KEEL_BACKUP_PASSPHRASE", "a long passphrase for the test")
	common := []string{"--driver", "sqlite", "--source", dbPath, "--storage", e.store, "--signing-key", e.key}
	_, stderr, code := runCLI(t, append([]string{"backup", "create"}, common...)...)
	require.Equal(t, 0, code, stderr)
	out, stderr, code := runCLI(t, append([]string{"backup", "verify", "--level", "restore", "--sanity-query", "SELECT count(*) FROM orders"}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "OK\trestore\t3")
}

func TestBackupRefusesSecretsInArguments(t *testing.T) {
	e := newCLIEnv(t)
	for _, src := range []struct{ driver, dsn string }{
		{"postgres", "postgres://app:hunter2@127.0.0.1:5432/sales"},
		{"postgres", "postgres://app@127.0.0.1:5432/sales?password=hunter2"},
		{"mysql", "app:hunter2@tcp(127.0.0.1:3306)/sales"},
	} {
		_, stderr, code := runCLI(t, "backup", "create", "--driver", src.driver, "--source", src.dsn, "--storage", e.store, "--signing-key", e.key, "--unencrypted")
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "refusing a password on the command line")
		assert.NotContains(t, stderr, "hunter2")
	}
	_, stderr, code := runCLI(t, "backup", "create", "--driver", "nosuch", "--source", "x", "--storage", e.store, "--signing-key", e.key, "--unencrypted")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unknown driver "nosuch"`)
	_, _, code = runCLI(t, "backup", "list", "--bogus")
	assert.Equal(t, 2, code)
}

func TestBackupRestoreTargetFromEnvironment(t *testing.T) {
	e := newCLIEnv(t)
	src := filepath.Join(e.dir, "data")
	require.NoError(t, os.MkdirAll(src, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	common := []string{"--driver", "dir", "--source", src, "--storage", e.store, "--signing-key", e.key, "--recipient", e.recipient, "--identity", e.identity}
	_, stderr, code := runCLI(t, append([]string{"backup", "create"}, common...)...)
	require.Equal(t, 0, code, stderr)
	target := filepath.Join(e.dir, "elsewhere")
	t.Setenv("KEEL_BACKUP_TARGET", target)
	out, stderr, code := runCLI(t, append([]string{"backup", "restore", "-allow-other-source"}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, target)
	b, err := os.ReadFile(filepath.Join(target, "f"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(b))
}

func TestBackupCommandsOnS3(t *testing.T) {
	srv := s3test.Start(t)
	e := newCLIEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretAccessKey)
	src := filepath.Join(e.dir, "data")
	require.NoError(t, os.MkdirAll(src, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("on s3"), 0o644))
	common := []string{"--driver", "dir", "--source", src, "--storage", "s3://" + srv.Bucket + "/sales", "--s3-endpoint", srv.Endpoint,
		"--s3-insecure", "--signing-key", e.key, "--recipient", e.recipient, "--identity", e.identity}
	_, stderr, code := runCLI(t, append([]string{"backup", "create"}, common...)...)
	require.Equal(t, 0, code, stderr)
	out, stderr, code := runCLI(t, append([]string{"backup", "verify", "--level", "full"}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "OK\tfull")
	target := filepath.Join(e.dir, "restored")
	_, stderr, code = runCLI(t, append([]string{"backup", "restore", "--target", target, "-allow-other-source"}, common...)...)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(filepath.Join(target, "f"))
	require.NoError(t, err)
	assert.Equal(t, "on s3", string(b))
}
