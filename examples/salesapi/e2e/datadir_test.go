package e2e

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modes lists every path under dir with a group or other permission bit,
// except the audit log's public key, which is meant to be shared.
func openToOthers(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	open := map[string]fs.FileMode{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 && filepath.Base(p) != "audit-signing.pub" {
			open[p] = fi.Mode().Perm()
		}
		return nil
	}))
	return open
}

// TestDataDirectoryIsPrivate runs the service through customers, an order
// and a backup, and finds every directory 0700 and every file 0600 —
// sales.db and its -wal and -shm files included; a data directory left open
// by an earlier version is tightened at start.
func TestDataDirectoryIsPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	in := start(t, dir, sqliteBackend)
	cust := in.createCustomer("private@example.com", "+1 555 0100 21")
	require.Equal(t, http.StatusCreated, in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", newKey(t)).Status)
	r := in.call("POST", "/v1/admin/backups", adminKey, nil)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)

	// While it runs, the SQLite sidecars exist.
	for _, f := range []string{"sales.db", "sales.db-wal", "sales.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), f)
	}
	assert.Empty(t, openToOthers(t, dir))
	in.Stop()
	assert.Empty(t, openToOthers(t, dir))

	// As an earlier version left it: the directory and the database open to all.
	require.NoError(t, os.Chmod(dir, 0o755))
	for _, f := range []string{"sales.db", "sales.db-wal", "sales.db-shm"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			require.NoError(t, os.Chmod(filepath.Join(dir, f), 0o644))
		}
	}
	require.NotEmpty(t, openToOthers(t, dir))
	in = start(t, dir, sqliteBackend)
	assert.Empty(t, openToOthers(t, dir))
	assert.Contains(t, in.Output(), "made 0700")
}
