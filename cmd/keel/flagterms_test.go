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

// TestBackupSetupErrorsNameTheirFlags provokes each mistake the shared
// backup setup can meet before the library is asked anything: the error
// names the flag (with one dash, as -h prints it) or the variable to fix.
func TestBackupSetupErrorsNameTheirFlags(t *testing.T) {
	e := newCLIEnv(t)
	missing := filepath.Join(e.dir, "missing")
	t.Setenv("KEEL_BACKUP_SOURCE", "")
	t.Setenv("KEEL_BACKUP_TARGET", "")
	t.Setenv("KEEL_BACKUP_PASSPHRASE", "")
	repo := []string{"-storage", e.store, "-verify-key", e.pub}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no storage", []string{"backup", "list"}, []string{"-storage is required"}},
		{"s3 without endpoint", []string{"backup", "list", "-storage", "s3://bucket/p"}, []string{"-s3-endpoint is required"}},
		{"missing config file", []string{"backup", "list", "-config", missing}, []string{"-config: "}},
		{"missing signing key", []string{"backup", "list", "-storage", e.store, "-signing-key", missing}, []string{"-signing-key: "}},
		{"signing key that is no key", []string{"backup", "list", "-storage", e.store, "-signing-key", e.pub}, []string{"-signing-key " + e.pub}},
		{"missing verify key", []string{"backup", "list", "-storage", e.store, "-verify-key", missing}, []string{"-verify-key: "}},
		{"missing identity", append([]string{"backup", "list", "-identity", missing}, repo...), []string{"-identity: "}},
		{"bad recipient", append([]string{"backup", "list", "-recipient", "age1nope"}, repo...), []string{"-recipient: "}},
		{"missing passphrase file", append([]string{"backup", "list", "-passphrase-file", missing}, repo...), []string{"-passphrase-file: "}},
		{"no driver", []string{"backup", "create", "-storage", e.store, "-signing-key", e.key, "-unencrypted", "-source", e.dir},
			[]string{"-driver is required"}},
		{"unknown driver", []string{"backup", "create", "-driver", "nosuch", "-source", "x", "-storage", e.store, "-signing-key", e.key, "-unencrypted"},
			[]string{`-driver: unknown driver "nosuch"`}},
		{"no source", []string{"backup", "create", "-driver", "dir", "-storage", e.store, "-signing-key", e.key, "-unencrypted"},
			[]string{"-source", "KEEL_BACKUP_SOURCE"}},
		{"nothing to restore into", append([]string{"backup", "restore", "-driver", "dir"}, repo...),
			[]string{"-target", "KEEL_BACKUP_TARGET", "-source"}},
		{"password in -target", append([]string{"backup", "restore", "-driver", "postgres", "-target", "postgres://u:hunter2@127.0.0.1/x"}, repo...),
			[]string{"refusing a password on the command line (-target)", "KEEL_BACKUP_TARGET"}},
		{"bad level", append([]string{"backup", "verify", "-level", "thorough"}, repo...), []string{"-level: "}},
		{"trial restore of a directory", append([]string{"backup", "verify", "-level", "restore", "-driver", "dir", "-source", e.dir}, repo...),
			[]string{"-driver dir has no trial restore; use -level full"}},
		{"bad schedule", []string{"backup", "create", "-driver", "dir", "-source", e.dir, "-storage", e.store, "-signing-key", e.key, "-unencrypted", "-schedule", "whenever"},
			[]string{"-schedule: "}},
		{"forget without -id", append([]string{"backup", "forget", "-signing-key", e.key}, repo...), []string{"-id is required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, c.args...)
			assert.Equal(t, 1, code, stderr)
			for _, w := range c.want {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stderr, "--", "flags are named with one dash, as -h prints them")
			assert.NotContains(t, stderr, "hunter2")
			assert.Empty(t, goName.FindAllString(stderr, -1), stderr)
		})
	}
}
