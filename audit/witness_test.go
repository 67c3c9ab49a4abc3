package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// witnessedLogger opens a Logger over a FileSink in dir, witnessed by w.
func witnessedLogger(t *testing.T, dir string, w Witness, mutate func(*Config)) (*Logger, error) {
	t.Helper()
	sink, err := NewFileSink(FileSinkConfig{Dir: dir})
	require.NoError(t, err)
	cfg := Config{Sinks: []Sink{sink}, SigningKey: testKey(t), Witnesses: []Witness{w}}
	if mutate != nil {
		mutate(&cfg)
	}
	return New(cfg)
}

func logEvents(t *testing.T, l *Logger, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, l.Log(context.Background(), event(i)))
	}
}

// lastCheckpoint returns the newest checkpoint record of the log in dir.
func lastCheckpoint(t *testing.T, dir string) *Record {
	t.Helper()
	var cp *Record
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(t, err)
		r, err := DecodeLine(line.Bytes)
		require.NoError(t, err)
		if r.Kind == KindCheckpoint {
			r.Line = nil
			cp = r
		}
	}
	require.NotNil(t, cp)
	return cp
}

// cutAfterFirstClose truncates the only segment of dir right after its
// first "close" checkpoint and returns that checkpoint's seq.
func cutAfterFirstClose(t *testing.T, dir string) uint64 {
	t.Helper()
	lines, path := readLines(t, dir)
	for i, line := range lines {
		r, err := DecodeLine(line)
		require.NoError(t, err)
		if r.Kind == KindCheckpoint && r.Checkpoint.Reason == "close" {
			writeLines(t, path, lines[:i+1])
			return r.Seq
		}
	}
	t.Fatal("no close checkpoint")
	return 0
}

// TestRollbackToAnEarlierCloseCheckpoint is issue #15's first attack: a
// log reopened once holds two "close" checkpoints; cut back to the first,
// it ends like a cleanly closed log and three audited events are gone.
func TestRollbackToAnEarlierCloseCheckpoint(t *testing.T) {
	dir, wdir := t.TempDir(), t.TempDir()
	w, err := NewFileWitness(filepath.Join(wdir, "audit.witness"))
	require.NoError(t, err)

	l, err := witnessedLogger(t, dir, w, nil)
	require.NoError(t, err)
	logEvents(t, l, 1)
	require.NoError(t, l.Close())
	l, err = witnessedLogger(t, dir, w, nil)
	require.NoError(t, err)
	logEvents(t, l, 3)
	require.NoError(t, l.Close())

	head, err := w.Head(context.Background())
	require.NoError(t, err)
	final := lastCheckpoint(t, dir)
	assert.Equal(t, Head{LogID: final.LogID, Seq: final.Seq, Hash: final.Hash}.String(), head.String(), "the witness holds the final close checkpoint")
	assert.Equal(t, uint64(6), head.Seq, "event, close, event ×3, close")

	cut := cutAfterFirstClose(t, dir)
	require.Equal(t, uint64(2), cut)

	// Without a witness the cut log is indistinguishable from a log closed
	// after one event: this is the limit the witness exists for.
	opts := VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, FromStart: true}
	rep, err := Verify(context.Background(), DirSource(dir), opts)
	require.NoError(t, err)
	assert.True(t, rep.Closed)

	opts.Witness = w
	rep, err = Verify(context.Background(), DirSource(dir), opts)
	require.ErrorIs(t, err, ErrRollback)
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, uint64(3), ve.Seq)
	assert.Contains(t, err.Error(), "records 3..6 are missing")
	assert.Equal(t, head.Seq, rep.Witness.Seq)
	assert.False(t, rep.WitnessMatched)

	// The writer refuses to continue the cut log, naming both seqs.
	_, err = witnessedLogger(t, dir, w, nil)
	var re *RollbackError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, ErrRollback)
	assert.Equal(t, uint64(2), re.LastSeq)
	assert.Equal(t, uint64(6), re.Witnessed.Seq)
	assert.Contains(t, err.Error(), "the log ends at seq 2, before the witnessed checkpoint at seq 6")
	assert.Contains(t, err.Error(), "Config.AcceptRollback")
	lines, _ := readLines(t, dir)
	assert.Len(t, lines, 2, "nothing was written to the refused log")

	// An acceptance of another head accepts nothing.
	_, err = witnessedLogger(t, dir, w, func(c *Config) {
		c.AcceptRollback = &AcceptRollback{LogID: head.LogID, WitnessedSeq: 5, WitnessedHash: head.Hash, Reason: "wrong seq"}
	})
	require.ErrorAs(t, err, &re)
	_, err = witnessedLogger(t, dir, w, func(c *Config) {
		c.AcceptRollback = &AcceptRollback{LogID: head.LogID, WitnessedSeq: 6, WitnessedHash: head.Hash}
	})
	require.ErrorContains(t, err, "AcceptRollback.Reason is empty")

	// The documented recovery: accept exactly this rollback. The acceptance
	// is itself recorded and signed, and the witness moves on.
	l, err = witnessedLogger(t, dir, w, func(c *Config) {
		c.AcceptRollback = &AcceptRollback{LogID: head.LogID, WitnessedSeq: 6, WitnessedHash: head.Hash, Reason: "restored from the 02:00 snapshot, ticket OPS-7"}
	})
	require.NoError(t, err)
	logEvents(t, l, 1)
	require.NoError(t, l.Close())
	rep, err = Verify(context.Background(), DirSource(dir), opts)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), rep.Rollbacks)
	assert.True(t, rep.WitnessMatched)
	lines, _ = readLines(t, dir)
	rb, err := DecodeLine(lines[2])
	require.NoError(t, err)
	require.Equal(t, KindRollback, rb.Kind)
	assert.Equal(t, &Rollback{WitnessedLog: head.LogID, WitnessedSeq: 6, WitnessedHash: head.Hash, LastSeq: 2, Reason: "restored from the 02:00 snapshot, ticket OPS-7"}, rb.Rollback)
	sealer, err := DecodeLine(lines[3])
	require.NoError(t, err)
	assert.Equal(t, "rollback", sealer.Checkpoint.Reason)

	// Left set, the acceptance matches nothing any more.
	l, err = witnessedLogger(t, dir, w, func(c *Config) {
		c.AcceptRollback = &AcceptRollback{LogID: head.LogID, WitnessedSeq: 6, WitnessedHash: head.Hash, Reason: "still set"}
	})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	rep, err = Verify(context.Background(), DirSource(dir), opts)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), rep.Rollbacks, "no second rollback was recorded")
}

func TestWitnessDetectsARewrittenOrReplacedLog(t *testing.T) {
	newLog := func(t *testing.T) (string, *FileWitness) {
		dir := t.TempDir()
		w, err := NewFileWitness(filepath.Join(t.TempDir(), "w.json"))
		require.NoError(t, err)
		l, err := witnessedLogger(t, dir, w, nil)
		require.NoError(t, err)
		logEvents(t, l, 4)
		require.NoError(t, l.Close())
		return dir, w
	}
	keys := []ed25519.PublicKey{pub(testKey(t))}

	t.Run("deleted", func(t *testing.T) {
		dir, w := newLog(t)
		names, err := listSegments(dir)
		require.NoError(t, err)
		for _, n := range names {
			require.NoError(t, os.Remove(filepath.Join(dir, n)))
		}
		_, err = witnessedLogger(t, dir, w, nil)
		require.ErrorIs(t, err, ErrRollback)
		assert.Contains(t, err.Error(), "the log is empty")
		_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, Witness: w, Live: true})
		require.ErrorIs(t, err, ErrRollback)
	})
	t.Run("replaced by another log", func(t *testing.T) {
		dir, w := newLog(t)
		other := t.TempDir()
		writeLog(t, other, 9, nil)
		names, err := listSegments(dir)
		require.NoError(t, err)
		for _, n := range names {
			require.NoError(t, os.Remove(filepath.Join(dir, n)))
		}
		names, err = listSegments(other)
		require.NoError(t, err)
		for _, n := range names {
			data, err := os.ReadFile(filepath.Join(other, n))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, n), data, 0o600))
		}
		_, err = witnessedLogger(t, dir, w, nil)
		require.ErrorIs(t, err, ErrRollback)
		assert.Contains(t, err.Error(), "the log was replaced")
		_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, Witness: w})
		require.ErrorIs(t, err, ErrRollback)
		assert.Contains(t, err.Error(), "the log was replaced")
	})
	t.Run("rewritten from the witnessed checkpoint", func(t *testing.T) {
		// Replace the final close checkpoint by one signed with the right
		// key but over an edited last event: everything verifies but the
		// witness. (Whoever holds the key can do this; the witness still
		// shows that the log changed after it was witnessed.)
		dir, w := newLog(t)
		lines, path := readLines(t, dir)
		n := len(lines)
		lines[n-2] = reseal(t, lines[n-2], func(r *Record) { r.Event.Outcome = Denied })
		lines[n-1] = reseal(t, lines[n-1], func(r *Record) {
			prev, err := DecodeLine(lines[n-2])
			require.NoError(t, err)
			r.Prev = prev.Hash
			r.Checkpoint = signCheckpoint(testKey(t), KeyID(pub(testKey(t))), r.LogID, r.Seq, r.Prev, "close", r.timeText)
		})
		writeLines(t, path, lines)
		_, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys})
		require.NoError(t, err, "the forgery holds the key")
		_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, Witness: w})
		require.ErrorIs(t, err, ErrRollback)
		assert.Contains(t, err.Error(), "is not the witnessed checkpoint")
		_, err = witnessedLogger(t, dir, w, nil)
		require.ErrorIs(t, err, ErrRollback)
		assert.Contains(t, err.Error(), "the log was rewritten from there")
	})
	t.Run("lagging witness still checked", func(t *testing.T) {
		// A crash between a checkpoint and its publication leaves the
		// witness behind the log: New reads the witnessed record back.
		dir, w := newLog(t)
		head, err := w.Head(context.Background())
		require.NoError(t, err)
		l, err := witnessedLogger(t, dir, nil, nil) // written without its witness
		require.NoError(t, err)
		logEvents(t, l, 2)
		require.NoError(t, l.Close())
		l, err = witnessedLogger(t, dir, w, nil)
		require.NoError(t, err, "the log is ahead of its witness and holds the witnessed record")
		require.NoError(t, l.Close())
		now, err := w.Head(context.Background())
		require.NoError(t, err)
		assert.Greater(t, now.Seq, head.Seq, "the witness caught up")

		// Back to lagging, and the record it holds edited, the chain
		// recomputed after it.
		require.NoError(t, w.Publish(context.Background(), now, head))
		lines, path := readLines(t, dir)
		idx := int(head.Seq) - 1
		lines[idx] = reseal(t, lines[idx], func(r *Record) { r.Checkpoint.Reason = "count" })
		rechain(t, lines, idx+1)
		writeLines(t, path, lines)
		_, err = witnessedLogger(t, dir, w, nil)
		require.ErrorIs(t, err, ErrRollback)
		assert.Contains(t, err.Error(), fmt.Sprintf("record %d is not the witnessed checkpoint", head.Seq))
	})
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// flakyWitness fails when told to; applied says whether a failing Publish
// still stored the head (as a network error after the commit would).
type flakyWitness struct {
	inner    Witness
	fail     atomic.Bool
	applied  bool
	calls    atomic.Int64
	failures atomic.Int64
}

func (f *flakyWitness) Head(ctx context.Context) (Head, error) { return f.inner.Head(ctx) }

func (f *flakyWitness) Publish(ctx context.Context, prev, next Head) error {
	f.calls.Add(1)
	if f.fail.Load() {
		defer f.failures.Add(1)
		if f.applied {
			_ = f.inner.Publish(ctx, prev, next)
		}
		return errors.New("witness unreachable")
	}
	return f.inner.Publish(ctx, prev, next)
}

func TestWitnessFailuresDoNotStopTheLog(t *testing.T) {
	for _, applied := range []bool{false, true} {
		name := "publish lost"
		if applied {
			name = "publish applied but reported failed"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			fw, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
			require.NoError(t, err)
			w := &flakyWitness{inner: fw, applied: applied}
			var logs bytes.Buffer
			l, err := witnessedLogger(t, dir, w, func(c *Config) {
				c.CheckpointEvery = 2
				c.Logger = newTestLogger(&logs)
			})
			require.NoError(t, err)
			w.fail.Store(true)
			logEvents(t, l, 2) // a count checkpoint the witness does not take
			// The writer publishes after answering the callers.
			require.Eventually(t, func() bool { return w.failures.Load() == 1 }, 5*time.Second, time.Millisecond)
			w.fail.Store(false)
			logEvents(t, l, 2)
			require.NoError(t, l.Close())
			if !applied {
				assert.Contains(t, logs.String(), "the witness did not take the newest checkpoint")
			}
			head, err := fw.Head(context.Background())
			require.NoError(t, err)
			final := lastCheckpoint(t, dir)
			assert.Equal(t, final.Seq, head.Seq, "the witness caught up with the log")
			assert.Equal(t, final.Hash, head.Hash)
			_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, Witness: fw})
			require.NoError(t, err)
		})
	}
}

func TestWitnessThatCannotBeReadFailsNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(t.TempDir(), "w")
	require.NoError(t, os.WriteFile(path, []byte(`{"format":"keel.audit.witness/v1","log":"x"}`), 0o600))
	w, err := NewFileWitness(path)
	require.NoError(t, err)
	_, err = witnessedLogger(t, dir, w, nil)
	require.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), "Config.Witnesses[0]")
}

func TestTwoWritersOnOneWitnessAreRefused(t *testing.T) {
	w, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	l, err := witnessedLogger(t, t.TempDir(), w, nil)
	require.NoError(t, err)
	logEvents(t, l, 1)
	require.NoError(t, l.Close())
	_, err = witnessedLogger(t, t.TempDir(), w, nil)
	require.ErrorIs(t, err, ErrRollback, "a second log given the same witness looks like a replaced log")
}

func TestParseWitnessFileIsStrict(t *testing.T) {
	good := `{"format":"keel.audit.witness/v1","log":"` + strings.Repeat("a", 32) + `","seq":7,"hash":"` + strings.Repeat("b", 64) + `","time":"2026-12-01T10:00:00Z"}`
	h, err := ParseWitnessFile([]byte(good))
	require.NoError(t, err)
	assert.Equal(t, uint64(7), h.Seq)
	for name, bad := range map[string]string{
		"case variant":   strings.Replace(good, `"seq"`, `"SEQ"`, 1),
		"duplicate":      strings.Replace(good, `"seq":7`, `"seq":7,"seq":9`, 1),
		"unknown member": strings.Replace(good, `"seq":7`, `"seq":7,"x":1`, 1),
		"missing member": strings.Replace(good, `,"seq":7`, ``, 1),
		"format":         strings.Replace(good, "witness/v1", "witness/v2", 1),
		"seq 0":          strings.Replace(good, `"seq":7`, `"seq":0`, 1),
		"short hash":     strings.Replace(good, strings.Repeat("b", 64), "bb", 1),
		"trailing data":  good + "{}",
		"not an object":  `[1]`,
		"too large":      good + strings.Repeat(" ", maxWitnessFile),
		"bad time":       strings.Replace(good, "2026-12-01T10:00:00Z", "yesterday", 1),
	} {
		_, err := ParseWitnessFile([]byte(bad))
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
}
