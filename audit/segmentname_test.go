package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireSegmentError checks that dir fails to verify, with every worker
// count, with ErrChainBroken at seq (any seq when 0), in the segment named
// name.
func requireSegmentError(t *testing.T, dir string, opts VerifyOptions, seq uint64, name string) {
	t.Helper()
	for _, workers := range []int{1, 2, 3} {
		got := verifyWith(DirSource(dir), opts, workers)
		var ve *VerifyError
		require.ErrorAs(t, got.err, &ve, "Workers %d: %s", workers, got)
		require.ErrorIs(t, got.err, ErrChainBroken, "Workers %d: %s", workers, got)
		if seq != 0 {
			assert.Equal(t, seq, ve.Seq, "Workers %d: %s", workers, got)
		}
		assert.Contains(t, ve.Where, name, "Workers %d: the error names the segment", workers)
		assert.Contains(t, got.err.Error(), name, "Workers %d", workers)
	}
}

// checkpointIndex returns the index of the first checkpoint among lines
// after the first one, or -1.
func checkpointIndex(t *testing.T, lines [][]byte) int {
	t.Helper()
	for i := 1; i < len(lines); i++ {
		r, err := DecodeLine(lines[i])
		require.NoError(t, err)
		if r.Kind == KindCheckpoint {
			return i
		}
	}
	return -1
}

// TestSegmentHeadCutIsDetected is the segment-head cut of issue #15: a log
// whose oldest segments retention removed starts with the signed
// checkpoint that opens its oldest remaining segment, so a verifier must
// accept a log that starts with a checkpoint after seq 1. Cutting the
// lines of that segment up to a checkpoint in its middle, and keeping the
// file's name, leaves a log that starts just as well with a signed
// checkpoint, whose chain from there is intact.
//
// Before Verify knew segment names (up to commit ff51e71), that was all it
// checked of a log's start: seq 1 with the genesis prev, or a signed
// checkpoint; so the cut log verified. What catches it now is step 4 of
// docs/FORMATS.md's verification algorithm: DirSource sets Line.Start on
// the first line of each segment to the seq its name says, and chainRun.feed
// fails with ErrChainBroken when the first record is not that one. The
// same lines read without names (a linesSource, which is what the old
// DirSource amounted to) still verify: that is the cut passing.
func TestSegmentHeadCutIsDetected(t *testing.T) {
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	small := func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 3; f.MaxSize = 2 << 10 }

	t.Run("the oldest segment after retention", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 40, small)
		names, err := listSegments(dir)
		require.NoError(t, err)
		require.Greater(t, len(names), 3)
		require.NoError(t, os.Remove(filepath.Join(dir, names[0]))) // as retention does
		oldest := names[1]
		start := segmentFirstSeq(oldest)
		rep, err := Verify(context.Background(), DirSource(dir), opts)
		require.NoError(t, err, "retention leaves a verifiable log")
		require.Equal(t, start, rep.FirstSeq)

		path := filepath.Join(dir, oldest)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		l := readSegLog(t, dir)
		require.Equal(t, oldest, l[0].name)
		j := checkpointIndex(t, l[0].lines)
		require.Positive(t, j, "a checkpoint in the middle of %s", oldest)
		l[0].lines = l[0].lines[j:] // cut up to it, keeping the name
		l.write(t, dir)
		cut, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Less(t, len(cut), len(data))

		// Without segment names the cut log starts with a signed checkpoint,
		// as a retained log does; it passed before a retained log had to
		// start with the "rotate" checkpoint that opens a segment. Both
		// rules now refuse it.
		_, err = Verify(context.Background(), unsegmented(t, dir), opts)
		require.ErrorIs(t, err, ErrChainBroken)
		require.ErrorContains(t, err, `only the signed "rotate" checkpoint`)

		requireSegmentError(t, dir, opts, start, oldest)
		_, err = Verify(context.Background(), DirSource(dir), opts)
		assert.Contains(t, err.Error(), fmt.Sprintf("records %d..%d were cut from its head", start, start+uint64(j)-1))
	})

	// A segment named 00000000000000000000 claims a record no log holds
	// (seq starts at 1), and DirSource reads a name of 0 as no name at all
	// (Line.Start 0): renaming the cut segment so must not bring the cut
	// back.
	t.Run("the oldest segment after retention, cut and renamed to 00000000000000000000", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 40, small)
		l := readSegLog(t, dir)[1:] // retention removed the first segment
		j := checkpointIndex(t, l[0].lines)
		require.Positive(t, j)
		l[0].lines = l[0].lines[j:]
		l[0].name = segmentName(0)
		l.write(t, dir)
		requireSegmentError(t, dir, opts, 0, l[0].name)
	})

	t.Run("the first segment of a complete log", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 40, small)
		l := readSegLog(t, dir)
		j := checkpointIndex(t, l[0].lines)
		require.Positive(t, j)
		l[0].lines = l[0].lines[j:]
		l.write(t, dir)
		_, err := Verify(context.Background(), unsegmented(t, dir), opts)
		require.ErrorContains(t, err, `only the signed "rotate" checkpoint`, "without names, the opening-checkpoint rule sees it")
		requireSegmentError(t, dir, opts, 1, l[0].name)
	})

	t.Run("a middle segment", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 40, small)
		l := readSegLog(t, dir)
		l[2].lines = l[2].lines[1:]
		l.write(t, dir)
		// The chain breaks too; both name the first missing record.
		requireSegmentError(t, dir, opts, segmentFirstSeq(l[2].name), l[2].name)
	})
}

func TestSegmentRenameIsDetected(t *testing.T) {
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	small := func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 3; f.MaxSize = 2 << 10 }
	tests := []struct {
		name     string
		retained bool // the oldest segment removed first, as retention does
		pick     func(l segLog) int
		to       func(l segLog, i int) uint64
		wantSeq  func(l segLog, i int) uint64 // nil: the new name's number; returning 0: any
	}{
		{"the last segment, one up", false, func(l segLog) int { return len(l) - 1 }, func(l segLog, i int) uint64 { return segNum(l[i].name) + 1 }, nil},
		{"the last segment, one down", false, func(l segLog) int { return len(l) - 1 }, func(l segLog, i int) uint64 { return segNum(l[i].name) - 1 }, nil},
		{"a middle segment, one up", false, func(l segLog) int { return 2 }, func(l segLog, i int) uint64 { return segNum(l[i].name) + 1 }, nil},
		{"a middle segment, one down", false, func(l segLog) int { return 2 }, func(l segLog, i int) uint64 { return segNum(l[i].name) - 1 }, nil},
		{"the first segment, to 2", false, func(segLog) int { return 0 }, func(segLog, int) uint64 { return 2 }, nil},
		{"the oldest retained segment, one down", true, func(segLog) int { return 0 }, func(l segLog, i int) uint64 { return segNum(l[i].name) - 1 }, nil},
		{"the oldest retained segment, one up", true, func(segLog) int { return 0 }, func(l segLog, i int) uint64 { return segNum(l[i].name) + 1 }, nil},
		{"the first segment, to 00000000000000000000", false, func(segLog) int { return 0 }, func(segLog, int) uint64 { return 0 },
			func(segLog, int) uint64 { return 0 }},
		{"the oldest retained segment, to 00000000000000000000", true, func(segLog) int { return 0 }, func(segLog, int) uint64 { return 0 },
			func(segLog, int) uint64 { return 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLog(t, dir, 40, small)
			l := readSegLog(t, dir)
			if tt.retained {
				l = l[1:]
			}
			l.write(t, dir)
			_, err := Verify(context.Background(), DirSource(dir), opts)
			require.NoError(t, err)

			i := tt.pick(l)
			to := tt.to(l, i)
			newName := segmentName(to)
			require.True(t, nameFree(l, newName))
			l[i].name = newName
			sortSegs(l).write(t, dir)
			want := to
			if tt.wantSeq != nil {
				want = tt.wantSeq(l, i)
			}
			requireSegmentError(t, dir, opts, want, newName)
		})
	}
}

// TestSegmentNamedZeroBesideTheFirstIsRead: a file named as segment 0 next
// to segment 1 is part of the directory's log and must be read (and fail),
// not passed over because segment 1 also starts at or before record 1.
func TestSegmentNamedZeroBesideTheFirstIsRead(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 5, nil)
	other := t.TempDir()
	writeLog(t, other, 2, nil)
	data, err := os.ReadFile(filepath.Join(other, segmentName(1)))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%020d%s", segmentPrefix, 0, segmentSuffix)), data, 0o600))
	requireSegmentError(t, dir, VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}}, 0, "audit-00000000000000000000.jsonl")
}
