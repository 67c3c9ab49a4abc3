package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests come from a review that attacked the witness: each failed on
// the code before its fix.

// twoRunsAndCut writes two runs of the writer (1 event, then 3) witnessed by
// w, cuts the log after the first run's close checkpoint and returns the
// refusal New then gives.
func twoRunsAndCut(t *testing.T, dir string, w Witness) *RollbackError {
	t.Helper()
	for _, n := range []int{1, 3} {
		l, err := witnessedLogger(t, dir, w, nil)
		require.NoError(t, err)
		logEvents(t, l, n)
		require.NoError(t, l.Close())
	}
	cutAfterFirstClose(t, dir)
	_, err := witnessedLogger(t, dir, w, nil)
	var re *RollbackError
	require.ErrorAs(t, err, &re)
	return re
}

func acceptOf(re *RollbackError, reason string) *AcceptRollback {
	return &AcceptRollback{LogID: re.Witnessed.LogID, WitnessedSeq: re.Witnessed.Seq, WitnessedHash: re.Witnessed.Hash, Reason: reason}
}

// After an accepted rollback the log passes through the witnessed seq
// again: an acceptance left set must not accept the next loss there.
func TestStaleAcceptanceDoesNotAcceptALaterRollback(t *testing.T) {
	dir := t.TempDir()
	w, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	accept := acceptOf(twoRunsAndCut(t, dir, w), "OPS-1: first loss accepted")
	l, err := witnessedLogger(t, dir, w, func(c *Config) { c.AcceptRollback = accept })
	require.NoError(t, err) // 3 rollback, 4 its checkpoint
	logEvents(t, l, 1)      // 5
	require.NoError(t, l.Close())
	second, err := w.Head(context.Background())
	require.NoError(t, err)
	require.Equal(t, accept.WitnessedSeq, second.Seq, "the same seq again")
	require.NotEqual(t, accept.WitnessedHash, second.Hash)

	lines, path := readLines(t, dir)
	writeLines(t, path, lines[:4]) // a second loss, nobody accepted
	_, err = witnessedLogger(t, dir, w, func(c *Config) { c.AcceptRollback = accept })
	require.ErrorIs(t, err, ErrRollback)
}

// durableSink records the last record appended with sync, or covered by a
// later Sync.
type durableSink struct {
	*FileSink
	mu               sync.Mutex
	written, durable uint64
}

func (s *durableSink) Append(ctx context.Context, recs []*Record, sync bool) error {
	err := s.FileSink.Append(ctx, recs, sync)
	if err == nil && len(recs) > 0 {
		s.mu.Lock()
		s.written = recs[len(recs)-1].Seq
		if sync {
			s.durable = s.written
		}
		s.mu.Unlock()
	}
	return err
}

func (s *durableSink) Sync() error {
	s.mu.Lock()
	w := s.written
	s.mu.Unlock()
	err := s.FileSink.Sync()
	if err == nil {
		s.mu.Lock()
		s.durable = max(s.durable, w)
		s.mu.Unlock()
	}
	return err
}

// aheadWitness notes every head published beyond what the sink made durable.
type aheadWitness struct {
	Witness
	sink  *durableSink
	mu    sync.Mutex
	ahead []string
}

func (w *aheadWitness) Publish(ctx context.Context, prev, next Head) error {
	w.sink.mu.Lock()
	d := w.sink.durable
	w.sink.mu.Unlock()
	if next.Seq > d {
		w.mu.Lock()
		w.ahead = append(w.ahead, fmt.Sprintf("checkpoint %d published with records up to %d durable", next.Seq, d))
		w.mu.Unlock()
	}
	return w.Witness.Publish(ctx, prev, next)
}

// In buffered mode a checkpoint is fsynced before the witness sees it: after
// a power loss the witness must not hold a checkpoint the disk lost.
func TestBufferedWitnessNeverLeadsTheDurableLog(t *testing.T) {
	fw, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	dir := t.TempDir()
	fs, err := NewFileSink(FileSinkConfig{Dir: dir})
	require.NoError(t, err)
	sink := &durableSink{FileSink: fs}
	w := &aheadWitness{Witness: fw, sink: sink}
	l, err := New(Config{Sinks: []Sink{sink}, Witnesses: []Witness{w}, SigningKey: testKey(t),
		Mode: Buffered, CheckpointEvery: 5, SyncInterval: time.Hour, CheckpointInterval: time.Hour})
	require.NoError(t, err)
	logEvents(t, l, 12) // count checkpoints after every 5 records or so (batches)
	require.NoError(t, l.Close())
	h, err := fw.Head(context.Background())
	require.NoError(t, err)
	assert.Equal(t, lastCheckpoint(t, dir).Seq, h.Seq, "the close checkpoint")
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.ahead)
}

// A resumed verification must not let a file planted under the mark's seq
// stand in for the segment that really holds the mark.
func TestResumeIsNotFooledByAPlantedSegment(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 3, nil) // 1..3 events, 4 close
	keys := []ed25519.PublicKey{pub(testKey(t))}
	rep, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, FromStart: true})
	require.NoError(t, err)
	mark := rep.Mark
	require.Equal(t, uint64(4), mark.Seq)
	writeLog(t, dir, 3, nil) // 5..7 events, 8 close

	lines, path := readLines(t, dir)
	require.Len(t, lines, 8)
	writeLines(t, filepath.Join(dir, segmentName(4)), lines[3:])            // a copy of 4..8, planted
	writeLines(t, path, append(append([][]byte{}, lines[:4]...), lines[7])) // 5..7 dropped from the real one

	_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, FromStart: true})
	require.Error(t, err, "a full verification sees it")
	for _, workers := range []int{1, 4} {
		_, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, FromStart: true, Resume: mark, Workers: workers})
		require.ErrorIs(t, err, ErrChainBroken, "Workers %d", workers)
	}

	// The legitimate case still resumes: the same records split differently.
	writeLines(t, path, lines[:3])
	rep, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, Resume: mark})
	require.NoError(t, err)
	assert.Equal(t, uint64(8), rep.LastSeq)
}

// Cutting a segment's head up to a checkpoint that does not open a segment,
// and renaming the file after it, is not retention.
func TestHeadCutRenamedToAMidSegmentCheckpointIsNotRetention(t *testing.T) {
	dir := t.TempDir()
	w, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	for range 2 {
		l, err := witnessedLogger(t, dir, w, nil)
		require.NoError(t, err)
		logEvents(t, l, 3)
		require.NoError(t, l.Close()) // 4, then 8: close checkpoints
	}
	lines, path := readLines(t, dir)
	require.NoError(t, os.Remove(path))
	writeLines(t, filepath.Join(dir, segmentName(4)), lines[3:])
	_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, Witness: w})
	require.ErrorIs(t, err, ErrChainBroken)
	assert.ErrorContains(t, err, `with a "close" checkpoint`)
}

type unreachableWitness struct{ Witness }

func (unreachableWitness) Publish(context.Context, Head, Head) error {
	return errors.New("unreachable")
}

// New accepts, as Verify does, a log that retention carried past a witness
// that stopped taking checkpoints: the log is ahead of it, not behind.
func TestWitnessBehindRetentionDoesNotBlockNew(t *testing.T) {
	dir := t.TempDir()
	w, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	l, err := witnessedLogger(t, dir, w, func(c *Config) { c.CheckpointEvery = 3 })
	require.NoError(t, err)
	logEvents(t, l, 3)
	require.NoError(t, l.Close())
	sink, err := NewFileSink(FileSinkConfig{Dir: dir, MaxSize: 1500})
	require.NoError(t, err)
	l, err = New(Config{Sinks: []Sink{sink}, Witnesses: []Witness{unreachableWitness{w}}, SigningKey: testKey(t), CheckpointEvery: 3})
	require.NoError(t, err)
	logEvents(t, l, 30)
	require.NoError(t, l.Close())
	names, err := listSegments(dir)
	require.NoError(t, err)
	require.Greater(t, len(names), 2)
	require.NoError(t, os.Remove(filepath.Join(dir, names[0]))) // as retention does

	rep, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, Witness: w})
	require.NoError(t, err)
	assert.False(t, rep.WitnessMatched)
	l, err = witnessedLogger(t, dir, w, nil)
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

// A refused New leaves the log as it found it — a torn tail included — and
// the torn tail is recorded once the rollback is accepted.
func TestRefusedNewLeavesTheLogAsItWas(t *testing.T) {
	dir := t.TempDir()
	w, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
	require.NoError(t, err)
	for _, n := range []int{1, 3} {
		l, err := witnessedLogger(t, dir, w, nil)
		require.NoError(t, err)
		logEvents(t, l, n)
		require.NoError(t, l.Close())
	}
	cutAfterFirstClose(t, dir)
	_, path := readLines(t, dir)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":2,"seq":3,"kind":"ev`) // a torn write
	require.NoError(t, err)
	require.NoError(t, f.Close())
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	_, err = witnessedLogger(t, dir, w, nil)
	var re *RollbackError
	require.ErrorAs(t, err, &re)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
	torn, err := filepath.Glob(filepath.Join(dir, "*.torn-*"))
	require.NoError(t, err)
	assert.Empty(t, torn)

	l, err := witnessedLogger(t, dir, w, func(c *Config) { c.AcceptRollback = acceptOf(re, "x") })
	require.NoError(t, err)
	require.NoError(t, l.Close())
	rep, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, Witness: w})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), rep.Recoveries)
	assert.Equal(t, uint64(1), rep.Rollbacks)
	lines, _ := readLines(t, dir)
	for _, line := range lines {
		r, err := DecodeLine(line)
		require.NoError(t, err)
		if r.Kind == KindRollback {
			assert.Equal(t, uint64(2), r.Rollback.LastSeq, "records 3..6 were lost, although the rollback record is at %d", r.Seq)
		}
	}

	// An emptied directory: the refused New does not leave a new segment.
	empty := t.TempDir()
	_, err = witnessedLogger(t, empty, w, nil)
	require.ErrorIs(t, err, ErrRollback)
	names, err := listSegments(empty)
	require.NoError(t, err)
	assert.Empty(t, names)
}

type hangingWitness struct{ Witness }

func (hangingWitness) Publish(ctx context.Context, _, _ Head) error {
	<-ctx.Done() // a blackholed peer
	return ctx.Err()
}

// A witness that hangs delays no caller of Log: the writer never waits for
// it (in the bubble, a wait would show as fake time passing).
func TestHangingWitnessDelaysNoCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fw, err := NewFileWitness(filepath.Join(t.TempDir(), "w"))
		require.NoError(t, err)
		l, err := witnessedLogger(t, t.TempDir(), hangingWitness{fw}, func(c *Config) { c.CheckpointEvery = 2 })
		require.NoError(t, err)
		start := time.Now()
		logEvents(t, l, 9)
		assert.Zero(t, time.Since(start), "no Log waited for the witness")
		require.NoError(t, l.Close())
	})
}

// A witness path that is not a regular file (a FIFO here; an open that
// blocks) is refused, not waited on.
func TestFileWitnessRefusesAnythingButARegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w")
	require.NoError(t, mkfifo(path))
	fw, err := NewFileWitness(path)
	require.NoError(t, err)
	_, err = fw.Head(context.Background())
	require.ErrorContains(t, err, "not a regular file")
	err = fw.Publish(context.Background(), Head{}, Head{LogID: strings.Repeat("a", 32), Seq: 1, Hash: strings.Repeat("b", 64)})
	require.ErrorContains(t, err, "not a regular file")
}

// Two long keys that share their first bytes stay two keys.
func TestCappedKeysStayDistinct(t *testing.T) {
	long := strings.Repeat("k", 3000)
	m := map[string]any{long + "A": "first", long + "B": "second"}
	e := Event{Action: "x", Outcome: Success, Metadata: m}
	truncateEvent(&e, DefaultMaxFieldSize)
	require.Len(t, e.Metadata, 2)
	for k := range e.Metadata {
		assert.LessOrEqual(t, len(k), DefaultMaxFieldSize)
		assert.Contains(t, k, "…[truncated: 3001 bytes, sha256 ")
	}
}

// A member spelled in another case, or given twice, is refused: encoding/json
// alone would read it, and two readers of the line could disagree.
func TestDecodeLineRefusesInexactOrRepeatedMembers(t *testing.T) {
	for name, payload := range map[string]string{
		"case variant":          `{"action":"a","outcome":"success","SEQ":9}`,
		"repeated":              `{"action":"a","outcome":"success","action":"b"}`,
		"escaped repeat":        `{"action":"a","outcome":"success","\u0061ction":"b"}`,
		"case variant in actor": `{"actor":{"ID":"x"},"action":"a","outcome":"success"}`,
		"repeated in resource":  `{"action":"a","outcome":"success","resource":{"id":"1","id":"2"}}`,
	} {
		r := &Record{Seq: 5, Kind: KindEvent, LogID: strings.Repeat("0", 32), Prev: genesisHash}
		seal(r, "2026-01-01T00:00:00Z", []byte(payload))
		_, err := DecodeLine(r.Line)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
	// Keys of before, after and metadata are the caller's: any spelling.
	r := &Record{Seq: 5, Kind: KindEvent, LogID: strings.Repeat("0", 32), Prev: genesisHash}
	seal(r, "2026-01-01T00:00:00Z", []byte(`{"action":"a","outcome":"success","after":{"SEQ":1,"Seq":2}}`))
	_, err := DecodeLine(r.Line)
	require.NoError(t, err)
}
