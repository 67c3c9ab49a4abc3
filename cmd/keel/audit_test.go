package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
	"github.com/keel-go/keel/internal/testenv"
)

// auditFixture writes a closed log of n events through sink and returns the
// path of a PEM file with the public key.
func auditFixture(t *testing.T, sink audit.Sink, n int) string {
	t.Helper()
	priv, pubFile := auditKey(t)
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: priv})
	require.NoError(t, err)
	for i := range n {
		outcome := audit.Success
		if i%2 == 1 {
			outcome = audit.Failure
		}
		require.NoError(t, l.Log(context.Background(), audit.Event{
			Actor: audit.Actor{ID: fmt.Sprintf("user-%d", i%2)}, Action: "license.update",
			Resource: audit.Resource{Type: "license", ID: fmt.Sprint(i)}, Outcome: outcome}))
	}
	require.NoError(t, l.Close())
	return pubFile
}

// auditKey returns a new signing key and the path of a PEM file with its
// public half.
func auditKey(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	pubFile := filepath.Join(t.TempDir(), "audit.pub")
	require.NoError(t, os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	return priv, pubFile
}

func runKeel(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAuditVerifyAndQueryFileLog(t *testing.T) {
	dir := t.TempDir()
	sink, err := audit.NewFileSink(audit.FileSinkConfig{Dir: dir})
	require.NoError(t, err)
	pubFile := auditFixture(t, sink, 6)

	code, out, errOut := runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-from-start")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "OK: log ")
	assert.Contains(t, out, "6 events")

	code, out, _ = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-json")
	require.Equal(t, 0, code)
	var rep struct {
		OK     bool   `json:"ok"`
		Events uint64 `json:"events"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.True(t, rep.OK)
	assert.Equal(t, uint64(6), rep.Events)

	code, out, errOut = runKeel("audit", "query", "-dir", dir, "-actor", "user-1", "-outcome", "failure")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	for _, l := range lines {
		r, err := audit.DecodeLine([]byte(l))
		require.NoError(t, err, "query prints the stored, verifiable lines")
		assert.Equal(t, "user-1", r.Event.Actor.ID)
	}

	// Delete the third record: verify names it and fails.
	names, err := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	require.NoError(t, err)
	data, err := os.ReadFile(names[0])
	require.NoError(t, err)
	recs := bytes.SplitAfter(data, []byte("\n"))
	require.NoError(t, os.WriteFile(names[0], bytes.Join(append(recs[:2:2], recs[3:]...), nil), 0o600))
	code, _, errOut = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "record 3")
	assert.Contains(t, errOut, "missing")
}

func TestAuditVerifySQLLog(t *testing.T) {
	pg := testenv.PostgresSchema(t)
	sink, err := sqlsink.New(sqlsink.Config{DB: pg.DB, Dialect: sqlsink.Postgres})
	require.NoError(t, err)
	pubFile := auditFixture(t, sink, 4)
	t.Setenv("TEST_AUDIT_DSN", pg.DSN)

	code, out, errOut := runKeel("audit", "verify", "-driver", "postgres", "-dsn-env", "TEST_AUDIT_DSN", "-pubkey", pubFile)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "4 events")

	code, out, errOut = runKeel("audit", "query", "-driver", "postgres", "-dsn-env", "TEST_AUDIT_DSN", "-resource-id", "2")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 1, strings.Count(out, "\n"))
}

func TestAuditCommandsRejectBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"audit", "verify", "-dir", "x"}, 2, "-pubkey is required"},
		{[]string{"audit", "query"}, 1, "give -dir"},
		{[]string{"audit", "query", "-dir", "/nonexistent-dir"}, 1, "-dir"},
		{[]string{"audit", "query", "-driver", "oracle"}, 1, "-driver must be"},
		{[]string{"audit", "query", "-driver", "sqlite", "-dsn-env", "KEEL_TEST_UNSET_VARIABLE"}, 1, "KEEL_TEST_UNSET_VARIABLE"},
		{[]string{"audit", "query", "-dir", ".", "-outcome", "maybe"}, 1, "-outcome"},
		{[]string{"audit", "query", "-dir", ".", "-since", "yesterday"}, 1, "-since"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := runKeel(tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, errOut, tt.want)
		})
	}
}
