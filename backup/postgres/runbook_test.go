package postgres_test

import (
	"bytes"
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
	for _, tool := range []string{"age", "zstd", "pg_restore", "sha256sum", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("the runbook test needs %s (Debian package %s) when CI=true", tool, tool)
			}
			t.Skipf("skipping: the runbook needs the %s command (Debian package %s)", tool, tool)
		}
	}
	e := newEnv(t, 300)
	before := fingerprint(t, e.pg.DB)
	_, err := e.repo.Create(context.Background())
	require.NoError(t, err)
	m, err := e.repo.Create(context.Background())
	require.NoError(t, err)
	jq := func(filter, file string, args ...string) string {
		out, err := exec.Command("jq", append(append([]string{"-r"}, args...), filter, file)...).Output()
		require.NoError(t, err, filter)
		return string(bytes.TrimSpace(out))
	}
	index := filepath.Join(e.store.Dir(), "keel-index.json")
	manifest := filepath.Join(e.store.Dir(), m.ID+".manifest.json")

	// Step 1: the newest backup is the index's last entry.
	require.Equal(t, m.ID, jq(".payload.backups | sort_by(.started_at) | last | .id", index))

	// Step 2: it is this repository's and this database's, and the index
	// lists this manifest.
	assert.Equal(t, jq(".payload.id", filepath.Join(e.store.Dir(), "keel-repository.json")), jq(".payload.repository", manifest))
	assert.JSONEq(t, `{"driver":"postgres","host":"127.0.0.1","port":5432,"database":"`+e.pg.Database+`"}`, jq(".payload.source_identity", manifest, "-c"))
	assert.Equal(t, m.StoredSHA256, jq(`.payload.backups[] | select(.id == $id) | .stored_sha256`, index, "--arg", "id", m.ID))

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "backup-key.txt")
	require.NoError(t, os.WriteFile(keyFile, []byte(e.ident.String()+"\n"), 0o600))
	object := filepath.Join(e.store.Dir(), m.Object)

	// Step 2: the object's checksum matches the manifest.
	out, err := exec.Command("sha256sum", object).Output()
	require.NoError(t, err)
	assert.Equal(t, m.StoredSHA256, string(out[:64]))

	// Steps 3 and 4: age -d -i key | zstd -d | pg_restore -d target
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
