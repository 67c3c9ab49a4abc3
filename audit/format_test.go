package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyDir copies the segment files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600))
	}
	return dst
}

// TestCloseCheckpointTimeIsSigned: a record's time is covered by its hash,
// but the last record has no successor whose prev would reveal an edit, so
// only the signature can protect the close checkpoint's time.
func TestCloseCheckpointTimeIsSigned(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 3, nil)
	lines, path := readLines(t, dir)
	last := len(lines) - 1
	lines[last] = reseal(t, lines[last], func(r *Record) {
		r.Time = r.Time.AddDate(0, 0, -1)
		r.timeText = formatTime(r.Time)
	})
	writeLines(t, path, lines)
	_, err := verifyDir(t, dir, false)
	require.ErrorIs(t, err, ErrBadSignature)
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, uint64(len(lines)), ve.Seq)
}

// TestVersion1LogsStillVerify reads testdata/v1log, written by the writer of
// record version 1 (checkpoints without their time signed), and continues
// it: the records written now are version 2 and the log verifies across.
func TestVersion1LogsStillVerify(t *testing.T) {
	keys := []ed25519.PublicKey{pub(testKey(t))}
	rep, err := Verify(context.Background(), DirSource("testdata/v1log"), VerifyOptions{PublicKeys: keys, FromStart: true})
	require.NoError(t, err)
	assert.Equal(t, uint64(12), rep.Events)

	dir := copyDir(t, "testdata/v1log")
	l, _ := newFileLogger(t, dir, nil)
	require.NoError(t, l.Log(context.Background(), event(99)))
	require.NoError(t, l.Close())
	rep, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, FromStart: true})
	require.NoError(t, err)
	assert.Equal(t, uint64(13), rep.Events)
	versions := map[int]int{}
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(t, err)
		r, err := DecodeLine(line.Bytes)
		require.NoError(t, err)
		versions[r.Version]++
	}
	assert.Equal(t, 2, len(versions), "both versions in one log: %v", versions)

	// A version 2 checkpoint passed off as version 1 (its "v" edited, its
	// hash recomputed) fails its signature: the message differs.
	lines, path := lastSegmentLines(t, dir)
	n := len(lines) - 1
	lines[n] = []byte(strings.Replace(string(lines[n]), `{"v":2,`, `{"v":1,`, 1))
	lines[n] = resealRaw(t, lines[n])
	writeLines(t, path, lines)
	_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys})
	require.ErrorIs(t, err, ErrBadSignature)
}

// lastSegmentLines returns the lines of the newest segment in dir.
func lastSegmentLines(t *testing.T, dir string) ([][]byte, string) {
	t.Helper()
	names, err := listSegments(dir)
	require.NoError(t, err)
	path := filepath.Join(dir, names[len(names)-1])
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return splitLines(data), path
}

func splitLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l = strings.TrimSuffix(l, "\n"); l != "" {
			out = append(out, []byte(l))
		}
	}
	return out
}

// resealRaw recomputes a line's hash over its (edited) body.
func resealRaw(t *testing.T, line []byte) []byte {
	t.Helper()
	body := append(bytes.Clone(line[:len(line)-hashSuffixLen]), '}')
	sum := sha256.Sum256(body)
	return append(body[:len(body)-1], `,"hash":"`+hex.EncodeToString(sum[:])+`"}`...)
}
