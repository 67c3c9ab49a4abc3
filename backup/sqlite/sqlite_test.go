package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openDB(t *testing.T, path string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// fingerprint is the row count and SHA-256 of every row, in id order.
func fingerprint(t *testing.T, db *sql.DB) string {
	var n int
	var rows sql.NullString
	require.NoError(t, db.QueryRow(`SELECT count(*), group_concat(id || ':' || name || ':' || hex(blob), '|') FROM (SELECT * FROM items ORDER BY id)`).Scan(&n, &rows))
	return fmt.Sprintf("%d:%x", n, sha256.Sum256([]byte(rows.String)))
}

func newRepo(t *testing.T, drv *sqlite.Driver) (*backup.Repository, *local.Storage) {
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
	return repo, store
}

func TestOnlineBackupAndAtomicRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	db := openDB(t, path)
	_, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, blob BLOB)`)
	require.NoError(t, err)
	_, err = db.Exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 5000)
		INSERT INTO items SELECT i, 'item ' || i, randomblob(64) FROM s`)
	require.NoError(t, err)

	drv, err := sqlite.New(sqlite.Config{Path: path, ScratchDir: t.TempDir()})
	require.NoError(t, err)
	repo, _ := newRepo(t, drv)
	ctx := context.Background()

	// A writer keeps inserting while the backup runs: the copy must be
	// consistent (integrity_check passes) and hold a prefix of the inserts.
	var stop atomic.Bool
	var wg sync.WaitGroup
	writer := openDB(t, path)
	wg.Go(func() {
		for i := 100000; !stop.Load(); i++ {
			if _, err := writer.Exec(`INSERT INTO items VALUES (?, 'live', randomblob(16))`, i); err != nil {
				t.Error(err)
				return
			}
		}
	})
	m, err := repo.Create(ctx)
	stop.Store(true)
	wg.Wait()
	require.NoError(t, err)
	assert.Contains(t, m.Tools, "sqlite")
	_, err = repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyRestore, Trial: drv, SanityQuery: "SELECT count(*) FROM items WHERE id <= 5000"})
	require.NoError(t, err)

	// Snapshot what the live database holds now, then back it up again
	// quietly, damage the live file's content and restore.
	m2, err := repo.Create(ctx)
	require.NoError(t, err)
	before := fingerprint(t, db)
	_, err = repo.Restore(ctx, m2.ID, drv, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrTargetNotEmpty)
	_, err = db.Exec(`DELETE FROM items WHERE id % 3 = 0`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoError(t, writer.Close())
	_, err = repo.Restore(ctx, m2.ID, drv, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, openDB(t, path)))
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".keel-restore-*"))
	assert.Empty(t, leftovers)

	// Restore into a new file elsewhere.
	other, err := sqlite.New(sqlite.Config{Path: filepath.Join(t.TempDir(), "copy.db")})
	require.NoError(t, err)
	_, err = repo.Restore(ctx, m2.ID, other, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrOtherSource, "another file needs AllowOtherSource")
	_, err = repo.Restore(ctx, m2.ID, other, backup.RestoreOptions{AllowOtherSource: true})
	require.NoError(t, err)
}

func TestCorruptBackupLeavesTargetUntouched(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	db := openDB(t, path)
	_, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, blob BLOB); INSERT INTO items VALUES (1, 'a', x'00')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	drv, err := sqlite.New(sqlite.Config{Path: path})
	require.NoError(t, err)
	repo, store := newRepo(t, drv)
	ctx := context.Background()
	m, err := repo.Create(ctx)
	require.NoError(t, err)
	obj := filepath.Join(store.Dir(), m.Object)
	b, err := os.ReadFile(obj)
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(obj, b, 0o600))
	original, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = repo.Restore(ctx, m.ID, drv, backup.RestoreOptions{Force: true})
	require.ErrorIs(t, err, backup.ErrCorrupt)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, original, after)
}

func TestDumpOfMissingFileFails(t *testing.T) {
	drv, err := sqlite.New(sqlite.Config{Path: filepath.Join(t.TempDir(), "absent.db")})
	require.NoError(t, err)
	repo, store := newRepo(t, drv)
	_, err = repo.Create(context.Background())
	require.Error(t, err)
	names, err := store.List(context.Background())
	require.NoError(t, err)
	assert.Subset(t, []string{backup.RepositoryObject, backup.IndexObject}, names, "no backup object or manifest")
	empty, err := drv.Empty(context.Background())
	require.NoError(t, err)
	assert.True(t, empty)
	_, err = sqlite.New(sqlite.Config{})
	require.ErrorContains(t, err, "Config.Path")
}
