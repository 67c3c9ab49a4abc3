package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// TestEmergencyRunbook follows docs/BACKUP-RUNBOOK.md: a backup made by
// Keel restores with age, zstd and pg_restore alone.
func TestEmergencyRunbook(t *testing.T) {
	for _, tool := range []string{"age", "zstd", "pg_restore", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("the runbook test needs %s (Debian package %s) when CI=true", tool, tool)
			}
			t.Skipf("skipping: the runbook needs the %s command (Debian package %s)", tool, tool)
		}
	}
	e := newEnv(t, 300)
	before := fingerprint(t, e.pg.DB)
	m, err := e.repo.Create(context.Background())
	require.NoError(t, err)

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "backup-key.txt")
	require.NoError(t, os.WriteFile(keyFile, []byte(e.ident.String()+"\n"), 0o600))
	object := filepath.Join(e.store.Dir(), m.Object)

	// Step 1: the object's checksum matches the manifest.
	out, err := exec.Command("sha256sum", object).Output()
	require.NoError(t, err)
	assert.Equal(t, m.StoredSHA256, string(out[:64]))

	// Step 2: age -d -i key | zstd -d | pg_restore -d target
	target := testenv.PostgresDatabase(t)
	ageCmd := exec.Command("age", "-d", "-i", keyFile, object)
	zstdCmd := exec.Command("zstd", "-d", "-c")
	restoreCmd := exec.Command("pg_restore", "--exit-on-error", "--single-transaction", "--dbname="+target.DSN)
	ageOut, err := ageCmd.StdoutPipe()
	require.NoError(t, err)
	zstdCmd.Stdin = ageOut
	zstdOut, err := zstdCmd.StdoutPipe()
	require.NoError(t, err)
	// Tee the plain dump into a hash to check it against the manifest too.
	h := sha256.New()
	restoreIn, err := restoreCmd.StdinPipe()
	require.NoError(t, err)
	for _, c := range []*exec.Cmd{ageCmd, zstdCmd, restoreCmd} {
		c.Stderr = os.Stderr
		require.NoError(t, c.Start())
	}
	_, err = io.Copy(io.MultiWriter(restoreIn, h), zstdOut)
	require.NoError(t, err)
	require.NoError(t, restoreIn.Close())
	for _, c := range []*exec.Cmd{ageCmd, zstdCmd, restoreCmd} {
		require.NoError(t, c.Wait(), c.Path)
	}
	assert.Equal(t, m.RawSHA256, hex.EncodeToString(h.Sum(nil)))
	assert.Equal(t, before, fingerprint(t, target.DB))
}
