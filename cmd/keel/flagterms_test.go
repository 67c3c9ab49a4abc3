package main

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/audit"
)

// goName matches a Go API name in an error: Config.VerifyKeys,
// RestoreOptions.Force, Policy.Daily.
var goName = regexp.MustCompile(`\b[A-Z]\w*(Config|Options|Policy)\.[A-Z]\w*`)

// TestBackupErrorsSpeakInFlags provokes each library refusal a CLI user can
// meet and checks that stderr names the flag that fixes it, and no Go field.
func TestBackupErrorsSpeakInFlags(t *testing.T) {
	e := newCLIEnv(t)
	src := filepath.Join(e.dir, "src.db")
	sqliteDB(t, src, "one")
	out, stderr, code := runCLI(t, "backup", "create", "-driver", "sqlite", "-source", src, "-storage", e.store, "-signing-key", e.key, "-recipient", e.recipient)
	require.Equal(t, 0, code, stderr)
	id := lastID(t, out)

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"list without keys", []string{"backup", "list", "-storage", e.store},
			[]string{"-verify-key", "-signing-key"}},
		{"create without encryption", []string{"backup", "create", "-driver", "sqlite", "-source", src, "-storage", e.store, "-signing-key", e.key},
			[]string{"-recipient", "-passphrase-file", "-unencrypted"}},
		{"create with both", []string{"backup", "create", "-driver", "sqlite", "-source", src, "-storage", e.store, "-signing-key", e.key, "-unencrypted", "-recipient", e.recipient},
			[]string{"-unencrypted and -recipient"}},
		{"create without signing key", []string{"backup", "create", "-driver", "sqlite", "-source", src, "-storage", e.store, "-recipient", e.recipient},
			[]string{"-signing-key is required to create backups"}},
		{"prune without policy", []string{"backup", "prune", "-storage", e.store, "-verify-key", e.pub},
			[]string{"no retention policy", "-keep-last", "-keep-daily", "-keep-yearly"}},
		{"prune with a bad policy", []string{"backup", "prune", "-storage", e.store, "-verify-key", e.pub, "-keep-daily", "-5"},
			[]string{"-keep-daily must be"}},
		{"verify without identity", []string{"backup", "verify", "-storage", e.store, "-verify-key", e.pub, "-id", id},
			[]string{"-identity", "-passphrase-file"}},
		{"restore into a full target", []string{"backup", "restore", "-driver", "sqlite", "-source", src, "-storage", e.store, "-verify-key", e.pub, "-identity", e.identity},
			[]string{"pass -force"}},
		{"bad repository id", []string{"backup", "list", "-storage", e.store, "-verify-key", e.pub, "-repository-id", "nope"},
			[]string{"-repository-id"}},
		{"s3 without credentials", []string{"backup", "list", "-storage", "s3://b/p", "-s3-endpoint", "127.0.0.1:1", "-verify-key", e.pub},
			[]string{"AWS_ACCESS_KEY_ID"}},
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, c.args...)
			assert.Equal(t, 1, code, stderr)
			for _, w := range c.want {
				assert.Contains(t, stderr, w)
			}
			assert.Empty(t, goName.FindAllString(stderr, -1), stderr)
			assert.NotContains(t, stderr, ": backup: ", "the library's prefix is dropped")
		})
	}
}

// TestAuditVerifyOfARunningLogSaysLive verifies the log of a logger that is
// still open: the error says what to do in flags (-live), not that the log
// was tampered with, and -live then verifies it.
func TestAuditVerifyOfARunningLogSaysLive(t *testing.T) {
	dir := t.TempDir()
	priv, pubFile := auditKey(t)
	sink, err := audit.NewFileSink(audit.FileSinkConfig{Dir: dir})
	require.NoError(t, err)
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: priv})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	for range 3 {
		require.NoError(t, l.Log(context.Background(), audit.Event{Actor: audit.Actor{ID: "u"}, Action: "order.create", Outcome: audit.Success}))
	}

	code, _, stderr := runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the log is not closed")
	assert.Contains(t, stderr, "verify with -live")
	assert.Contains(t, stderr, "stop it cleanly")
	assert.NotContains(t, stderr, "VerifyOptions")

	code, out, stderr := runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile, "-live")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "3 events")
	assert.Contains(t, out, "records after the last checkpoint")

	// Closed, it verifies without -live.
	require.NoError(t, l.Close())
	code, _, stderr = runKeel("audit", "verify", "-dir", dir, "-pubkey", pubFile)
	assert.Equal(t, 0, code, stderr)
}
