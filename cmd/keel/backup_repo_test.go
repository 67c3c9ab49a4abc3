package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
)

// sqliteDB makes a database file holding one row with value.
func sqliteDB(t *testing.T, path, value string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	_, err = db.Exec(`CREATE TABLE t (v TEXT); INSERT INTO t VALUES (?)`, value)
	require.NoError(t, err)
}

func sqliteValue(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	var v string
	require.NoError(t, db.QueryRow(`SELECT v FROM t`).Scan(&v))
	return v
}

// lastID returns the id on the last line of `keel backup create`'s output.
func lastID(t *testing.T, out string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id, _, ok := strings.Cut(lines[len(lines)-1], "\t")
	require.True(t, ok, out)
	return id
}

// The attack of issue #15 on the CLI: a validly signed backup of an
// unrelated SQLite database, made with the same signing key and recipient
// in another repository, is copied into this one. `keel backup restore`
// of latest restores this database's own newest backup, and the foreign
// one only with both explicit flags.
func TestBackupRestoreIgnoresABackupOfAnotherDatabaseCopiedIn(t *testing.T) {
	e := newCLIEnv(t)
	app, other := filepath.Join(e.dir, "app.db"), filepath.Join(e.dir, "other.db")
	sqliteDB(t, app, "app")
	sqliteDB(t, other, "other")
	otherStore := filepath.Join(e.dir, "other-store")
	keys := []string{"-signing-key", e.key, "-recipient", e.recipient, "-identity", e.identity, "-driver", "sqlite"}
	_, stderr, code := runCLI(t, append([]string{"backup", "create", "-source", app, "-storage", e.store}, keys...)...)
	require.Equal(t, 0, code, stderr)
	out, stderr, code := runCLI(t, append([]string{"backup", "create", "-source", other, "-storage", otherStore}, keys...)...)
	require.Equal(t, 0, code, stderr)
	foreign := lastID(t, out)
	for _, suffix := range []string{".backup", ".manifest.json"} {
		b, err := os.ReadFile(filepath.Join(otherStore, foreign+suffix))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(e.store, foreign+suffix), b, 0o600))
	}
	restore := append([]string{"backup", "restore", "-source", app, "-storage", e.store, "-force"}, keys...)

	out, stderr, code = runCLI(t, restore...)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, foreign)
	assert.Equal(t, "app", sqliteValue(t, app), "the app's own newest backup was restored")
	for _, want := range []string{"restore plan:", "source:   sqlite://" + app, "age:", "verified: never", "checked:  stored object read in full"} {
		assert.Contains(t, out, want)
	}

	_, stderr, code = runCLI(t, append(restore, "-id", foreign)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "pass -allow-other-repository")
	_, stderr, code = runCLI(t, append(restore, "-id", foreign, "-allow-other-repository")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "pass -allow-other-source")
	assert.Equal(t, "app", sqliteValue(t, app))

	out, _, code = runCLI(t, "backup", "list", "-storage", e.store, "-verify-key", e.pub)
	assert.Equal(t, 1, code, "a foreign backup needs attention")
	assert.Contains(t, out, "OTHER REPOSITORY")
}

// Deleting the newest backup no longer moves "latest" back silently.
func TestBackupListAndRestoreReportARemovedNewestBackup(t *testing.T) {
	e := newCLIEnv(t)
	app := filepath.Join(e.dir, "app.db")
	sqliteDB(t, app, "v1")
	common := []string{"-source", app, "-storage", e.store, "-signing-key", e.key, "-recipient", e.recipient, "-identity", e.identity, "-driver", "sqlite"}
	var ids []string
	for range 2 {
		out, stderr, code := runCLI(t, append([]string{"backup", "create"}, common...)...)
		require.Equal(t, 0, code, stderr)
		ids = append(ids, lastID(t, out))
	}
	require.NoError(t, os.Remove(filepath.Join(e.store, ids[1]+".manifest.json")))
	require.NoError(t, os.Remove(filepath.Join(e.store, ids[1]+".backup")))

	out, stderr, code := runCLI(t, append([]string{"backup", "list"}, common...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, ids[1]+"  ")
	assert.Contains(t, out, "MISSING")
	assert.Contains(t, stderr, "need attention")
	_, stderr, code = runCLI(t, append([]string{"backup", "restore", "-force"}, common...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, ids[1])
	assert.Contains(t, stderr, "keel backup forget")

	out, stderr, code = runCLI(t, append([]string{"backup", "restore", "-force", "-dry-run", "-id", ids[0]}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "WARNING: listed in the repository's index but missing from storage")
	assert.Contains(t, out, "dry run: nothing was restored")

	_, stderr, code = runCLI(t, append([]string{"backup", "forget", "-id", ids[1]}, common...)...)
	require.Equal(t, 0, code, stderr)
	_, stderr, code = runCLI(t, append([]string{"backup", "list"}, common...)...)
	assert.Equal(t, 0, code, stderr)
}

func TestBackupVerifyWithoutSigningKeySaysNotRecorded(t *testing.T) {
	e := newCLIEnv(t)
	app := filepath.Join(e.dir, "app.db")
	sqliteDB(t, app, "v")
	_, stderr, code := runCLI(t, "backup", "create", "-driver", "sqlite", "-source", app, "-storage", e.store,
		"-signing-key", e.key, "-recipient", e.recipient)
	require.Equal(t, 0, code, stderr)
	reader := []string{"-storage", e.store, "-verify-key", e.pub, "-identity", e.identity}
	out, stderr, code := runCLI(t, append([]string{"backup", "verify"}, reader...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "OK\tfull\tnot recorded")
	out, _, code = runCLI(t, append([]string{"backup", "list"}, reader...)...)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "never")
	out, stderr, code = runCLI(t, append([]string{"backup", "verify", "-signing-key", e.key}, reader...)...)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, "not recorded")
}

// A repository made before identities: list shows its backups as legacy;
// restore needs -allow-legacy until init -adopt-legacy vouches for them.
func TestBackupInitAdoptsLegacyBackups(t *testing.T) {
	e := newCLIEnv(t)
	app := filepath.Join(e.dir, "app.db")
	sqliteDB(t, app, "old")
	common := []string{"-driver", "sqlite", "-source", app, "-storage", e.store, "-signing-key", e.key, "-recipient", e.recipient, "-identity", e.identity}
	out, stderr, code := runCLI(t, append([]string{"backup", "create"}, common...)...)
	require.Equal(t, 0, code, stderr)
	id := lastID(t, out)
	makeLegacy(t, e, id)

	out, stderr, code = runCLI(t, append([]string{"backup", "list"}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "legacy")
	_, stderr, code = runCLI(t, append([]string{"backup", "restore", "-force"}, common...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "pass -allow-legacy")
	out, stderr, code = runCLI(t, append([]string{"backup", "init", "-adopt-legacy"}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "identity created")
	assert.Contains(t, out, "adopted legacy backup "+id)
	_, stderr, code = runCLI(t, append([]string{"backup", "restore", "-force"}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "old", sqliteValue(t, app))
}

// makeLegacy rewrites backup id's manifest as a v1 one and removes the
// repository's identity and index: a repository from before identities.
func makeLegacy(t *testing.T, e cliEnv, id string) {
	t.Helper()
	keyPEM, err := os.ReadFile(e.key)
	require.NoError(t, err)
	key, err := backup.ParseSigningKey(keyPEM)
	require.NoError(t, err)
	p := filepath.Join(e.store, id+".manifest.json")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	m, err := backup.DecodeManifest(b, key.Public())
	require.NoError(t, err)
	m.Repository, m.SourceIdentity = "", nil
	legacy, err := backup.EncodeManifest(m, key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, legacy, 0o600))
	require.NoError(t, os.Remove(filepath.Join(e.store, backup.RepositoryObject)))
	require.NoError(t, os.Remove(filepath.Join(e.store, backup.IndexObject)))
}
