package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/sqlite"
)

// The attack of issue #15, part 5, with the real driver: a validly signed
// backup of an unrelated SQLite database, made with the same signing key
// and age recipient in another repository, is copied into the app's
// repository. It is the newest backup there; before repository and source
// identities, restoring "latest" put the other database over the app's.
func TestBackupOfAnotherDatabaseCopiedInDoesNotRestoreAsLatest(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	ident, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	open := func(dbPath, storeDir, row string) (*sqlite.Driver, *backup.Repository) {
		db := openDB(t, dbPath)
		_, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, blob BLOB); INSERT INTO items VALUES (1, ?, x'00')`, row)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		drv, err := sqlite.New(sqlite.Config{Path: dbPath})
		require.NoError(t, err)
		store, err := local.New(storeDir)
		require.NoError(t, err)
		repo, err := backup.New(backup.Config{Storage: store, Source: drv, SigningKey: key,
			Recipients: []age.Recipient{ident.Recipient()}, Identities: []age.Identity{ident}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = repo.Close() })
		return drv, repo
	}
	appPath, appStore := filepath.Join(dir, "app.db"), filepath.Join(dir, "app-backups")
	app, appRepo := open(appPath, appStore, "the app's data")
	otherStore := filepath.Join(dir, "other-backups")
	_, otherRepo := open(filepath.Join(dir, "other.db"), otherStore, "an unrelated database")
	_, err = appRepo.Create(ctx)
	require.NoError(t, err)
	foreign, err := otherRepo.Create(ctx)
	require.NoError(t, err)
	for _, name := range []string{foreign.Object, foreign.ID + ".manifest.json"} {
		b, err := os.ReadFile(filepath.Join(otherStore, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(appStore, name), b, 0o600))
	}
	before := fingerprint(t, openDB(t, appPath))

	_, err = appRepo.Restore(ctx, "latest", app, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, before, fingerprint(t, openDB(t, appPath)), "latest is the app's own backup")
	_, err = appRepo.Restore(ctx, foreign.ID, app, backup.RestoreOptions{Force: true})
	require.ErrorIs(t, err, backup.ErrOtherRepository)
	_, err = appRepo.Restore(ctx, foreign.ID, app, backup.RestoreOptions{Force: true, AllowOtherRepository: true})
	require.ErrorIs(t, err, backup.ErrOtherSource)
	assert.Equal(t, before, fingerprint(t, openDB(t, appPath)))
}
