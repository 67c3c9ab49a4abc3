package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKey is a fixed signing key, so that tests need no key files.
func testKey(testing.TB) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	return ed25519.NewKeyFromSeed(seed)
}

func otherKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// newFileLogger opens a Logger over a FileSink in dir.
func newFileLogger(t testing.TB, dir string, mutate func(*Config, *FileSinkConfig)) (*Logger, *FileSink) {
	t.Helper()
	fc := FileSinkConfig{Dir: dir}
	cfg := Config{SigningKey: testKey(t)}
	if mutate != nil {
		mutate(&cfg, &fc)
	}
	sink, err := NewFileSink(fc)
	require.NoError(t, err)
	cfg.Sinks = append([]Sink{sink}, cfg.Sinks...)
	l, err := New(cfg)
	require.NoError(t, err)
	return l, sink
}

func event(i int) Event {
	return Event{
		Actor:    Actor{ID: fmt.Sprintf("user-%d", i%3), Type: "user", IP: "10.0.0.1"},
		Action:   "license.update",
		Resource: Resource{Type: "license", ID: fmt.Sprintf("lic-%d", i)},
		Outcome:  Success,
		After:    map[string]any{"seats": i},
	}
}

// writeLog logs n events to a fresh log in dir and closes it.
func writeLog(t testing.TB, dir string, n int, mutate func(*Config, *FileSinkConfig)) {
	t.Helper()
	l, _ := newFileLogger(t, dir, mutate)
	for i := range n {
		require.NoError(t, l.Log(context.Background(), event(i)))
	}
	require.NoError(t, l.Close())
}

func verifyDir(t testing.TB, dir string, live bool) (VerifyReport, error) {
	t.Helper()
	return Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, Live: live})
}

// readLines returns the lines of the only segment in dir, and its path.
func readLines(t testing.TB, dir string) ([][]byte, string) {
	t.Helper()
	names, err := listSegments(dir)
	require.NoError(t, err)
	require.Len(t, names, 1)
	path := filepath.Join(dir, names[0])
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	return lines, path
}

func writeLines(t testing.TB, path string, lines [][]byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600))
}
