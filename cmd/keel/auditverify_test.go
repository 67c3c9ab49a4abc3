package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
)

// witnessedFixture writes a log in dir over two runs of the writer (so it
// holds two close checkpoints), witnessed by w, and returns the public key
// file.
func witnessedFixture(t *testing.T, dir string, w audit.Witness) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	pubFile := filepath.Join(t.TempDir(), "audit.pub")
	require.NoError(t, os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	for _, n := range []int{1, 3} {
		sink, err := audit.NewFileSink(audit.FileSinkConfig{Dir: dir})
		require.NoError(t, err)
		l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: priv, Witnesses: []audit.Witness{w}})
		require.NoError(t, err)
		for range n {
			require.NoError(t, l.Log(context.Background(), audit.Event{Action: "order.create", Outcome: audit.Success}))
		}
		require.NoError(t, l.Close())
	}
	return pubFile
}

// cutToFirstClose truncates the log in dir after its first close checkpoint.
func cutToFirstClose(t *testing.T, dir string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	require.NoError(t, err)
	require.Len(t, names, 1)
	data, err := os.ReadFile(names[0])
	require.NoError(t, err)
	i := bytes.Index(data, []byte(`"reason":"close"`))
	require.Positive(t, i)
	end := i + bytes.IndexByte(data[i:], '\n') + 1
	require.NoError(t, os.WriteFile(names[0], data[:end], 0o600))
}

func TestAuditVerifyWithAFileWitnessCatchesARollback(t *testing.T) {
	dir := t.TempDir()
	witnessFile := filepath.Join(t.TempDir(), "audit.witness")
	w, err := audit.NewFileWitness(witnessFile)
	require.NoError(t, err)
	pubFile := witnessedFixture(t, dir, w)

	code, out, errOut := runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-from-start", "-witness", witnessFile)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "witness: the log holds the witnessed checkpoint 6")
	assert.Regexp(t, `read 6 records in [0-9.]+ s: [0-9]+ records/s`, out)

	cutToFirstClose(t, dir)
	code, out, errOut = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-from-start")
	require.Equal(t, 0, code, "without -witness the cut log verifies: %s", errOut)
	assert.Contains(t, out, "OK")
	code, _, errOut = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-from-start", "-witness", witnessFile)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "records 3..6 are missing")

	code, _, errOut = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-witness", filepath.Join(t.TempDir(), "none"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "the witness holds nothing")
}

func TestAuditVerifyWithASQLWitness(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "witness.db")
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	defer db.Close()
	w, err := sqlsink.NewWitness(sqlsink.WitnessConfig{DB: db, Dialect: sqlsink.SQLite, Name: "sales-1"})
	require.NoError(t, err)
	require.NoError(t, w.Migrate(context.Background()))
	dir := t.TempDir()
	pubFile := witnessedFixture(t, dir, w)
	t.Setenv("TEST_WITNESS_DSN", dbPath)
	args := []string{"audit", "verify", "-dir", dir, "-pubkey", pubFile, "-witness-driver", "sqlite", "-witness-dsn-env", "TEST_WITNESS_DSN"}

	code, _, errOut := runKeel(args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "-witness-name is required")
	code, _, errOut = runKeel(append(args, "-witness-name", "sales-1")...)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runKeel(append(args, "-witness-name", "sales-2")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "-witness-name")
	cutToFirstClose(t, dir)
	code, _, errOut = runKeel(append(args, "-witness-name", "sales-1")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "rolled back")
}

func TestAuditVerifyStateResumes(t *testing.T) {
	dir := t.TempDir()
	w, err := audit.NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	pubFile := witnessedFixture(t, dir, w)
	state := filepath.Join(t.TempDir(), "verify.state")

	code, out, errOut := runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-state", state)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "read 6 records")
	fi, err := os.Stat(state)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	m, _, err := audit.ParseMark(data)
	require.NoError(t, err)
	assert.Equal(t, uint64(6), m.Seq)

	code, out, errOut = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-state", state)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "resumed after checkpoint 6")
	assert.Contains(t, out, "4 events", "the counts include what the mark holds")
	assert.Contains(t, out, "read 0 records")

	// A failed verification does not move the state.
	data, err = os.ReadFile(state)
	require.NoError(t, err)
	cutToFirstClose(t, dir)
	code, _, errOut = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-state", state)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "resume mark")
	after, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(after))

	require.NoError(t, os.WriteFile(state, []byte(strings.Replace(string(data), `"seq"`, `"SEQ"`, 1)), 0o600))
	code, _, errOut = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-state", state)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "-state")
	assert.Contains(t, errOut, "remove it to verify from the start")
}

func TestAuditVerifyWitnessFlagMistakes(t *testing.T) {
	dir := t.TempDir()
	w, err := audit.NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	pubFile := witnessedFixture(t, dir, w)
	missing := filepath.Join(t.TempDir(), "missing.db")
	t.Setenv("TEST_MISSING_DB", missing)
	for _, tt := range []struct {
		args []string
		want string
	}{
		// Without -witness-driver these used to be ignored: a rolled-back
		// log was reported fine.
		{[]string{"-witness-name", "salesapi-1"}, "-witness-name needs -witness-driver"},
		{[]string{"-witness-table", "keel_audit_witness"}, "-witness-table needs -witness-driver"},
		{[]string{"-witness-driver", "sqlite", "-witness-name", "x", "-witness-table", "bad-name"}, "-witness-table must be letters"},
		{[]string{"-state", filepath.Join(t.TempDir(), "no", "such", "dir", "state")}, "-state"},
		{[]string{"-witness-driver", "sqlite", "-witness-dsn-env", "TEST_MISSING_DB", "-witness-name", "x"}, "read the witness"},
	} {
		code, _, errOut := runKeel(append([]string{"audit", "verify", "-dir", dir, "-pubkey", pubFile}, tt.args...)...)
		assert.Equal(t, 1, code, "%v", tt.args)
		assert.Contains(t, errOut, tt.want, "%v", tt.args)
	}
	_, err = os.Stat(missing)
	assert.ErrorIs(t, err, os.ErrNotExist, "verifying never creates a database")
}
