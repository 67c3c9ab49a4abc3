package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// segmentSink is a user's own RotatingSink: segments of lines in memory,
// rotated every perSegment records, of which Retain keeps the newest keep.
type segmentSink struct {
	perSegment, keep int

	mu        sync.Mutex
	segments  []memSegment
	retains   int
	retainErr error // returned by Retain when set
}

type memSegment struct {
	first uint64 // the seq of the record it was started for
	lines [][]byte
}

var _ audit.RotatingSink = (*segmentSink)(nil)
var _ audit.Source = (*segmentSink)(nil)

func (s *segmentSink) Open(context.Context) (audit.OpenState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segments) == 0 {
		s.segments = []memSegment{{first: 1}}
	}
	return audit.OpenState{}, nil
}

func (s *segmentSink) Append(_ context.Context, recs []*audit.Record, _ bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := &s.segments[len(s.segments)-1]
	for _, r := range recs {
		cur.lines = append(cur.lines, bytes.Clone(r.Line))
	}
	return nil
}

func (s *segmentSink) Close() error { return nil }

func (s *segmentSink) RotationDue(time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segments[len(s.segments)-1].lines) >= s.perSegment
}

func (s *segmentSink) Rotate(nextSeq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.segments = append(s.segments, memSegment{first: nextSeq})
	return nil
}

func (s *segmentSink) SegmentEmpty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segments[len(s.segments)-1].lines) == 0
}

func (s *segmentSink) Retain(time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retains++
	if s.retainErr != nil {
		return s.retainErr
	}
	if len(s.segments) > s.keep {
		s.segments = append([]memSegment(nil), s.segments[len(s.segments)-s.keep:]...)
	}
	return nil
}

// Lines yields every segment's lines, the first of each with the seq its
// segment was started for, as a FileSink's segment names say it.
func (s *segmentSink) Lines(context.Context) iter.Seq2[audit.Line, error] {
	s.mu.Lock()
	segments := append([]memSegment(nil), s.segments...)
	s.mu.Unlock()
	return func(yield func(audit.Line, error) bool) {
		for i, seg := range segments {
			for j, b := range seg.lines {
				line := audit.Line{Bytes: b, Where: fmt.Sprintf("segment %d line %d", i, j+1)}
				if j == 0 {
					line.Start = seg.first
				}
				if !yield(line, nil) {
					return
				}
			}
		}
	}
}

// A Sink of the user's own is rotated like a FileSink: each new segment
// opens with a signed "rotate" checkpoint, retention runs after each
// rotation, and what it keeps verifies.
func TestUserSinkRotates(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	sink := &segmentSink{perSegment: 5, keep: 3}
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key, MaxBatch: 1})
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 40 {
		require.NoError(t, l.Log(ctx, audit.Event{Action: "license.update", Outcome: audit.Success,
			Actor: audit.Actor{ID: fmt.Sprintf("user-%d", i)}}))
	}
	require.NoError(t, l.Close())

	sink.mu.Lock()
	segments, retains := sink.segments, sink.retains
	sink.mu.Unlock()
	require.Len(t, segments, 3, "Retain kept the newest three segments")
	assert.GreaterOrEqual(t, retains, 8, "Retain ran after every rotation (40 events in segments of 5)")
	for i, seg := range segments {
		require.NotEmpty(t, seg.lines, "segment %d", i)
		r, err := audit.DecodeLine(seg.lines[0])
		require.NoError(t, err)
		assert.Equal(t, seg.first, r.Seq, "segment %d starts with the record Rotate was told of", i)
		if assert.Equal(t, audit.KindCheckpoint, r.Kind, "segment %d", i) {
			assert.Equal(t, "rotate", r.Checkpoint.Reason, "segment %d opens with the rotate checkpoint", i)
		}
	}

	rep, err := audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	require.NoError(t, err, "what retention kept verifies")
	assert.Equal(t, segments[0].first, rep.FirstSeq)
	_, err = audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, FromStart: true})
	require.Error(t, err, "the removed segments are seen when none were expected to be")
}

// A sink whose retention fails is logged by the Logger, and the log goes on:
// every event is still written and the log verifies.
func TestUserSinkRetentionFailureIsLogged(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	var logs bytes.Buffer
	var logsMu sync.Mutex
	sink := &segmentSink{perSegment: 4, keep: 1, retainErr: errors.New("volume read-only")}
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key, MaxBatch: 1,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logsMu, &logs}, nil))})
	require.NoError(t, err)
	for range 10 {
		require.NoError(t, l.Log(context.Background(), audit.Event{Action: "order.create", Outcome: audit.Success}))
	}
	require.NoError(t, l.Close())
	logsMu.Lock()
	text := logs.String()
	logsMu.Unlock()
	assert.Contains(t, text, "audit: retention failed")
	assert.Contains(t, text, "volume read-only")
	sink.mu.Lock()
	segments := len(sink.segments)
	sink.mu.Unlock()
	assert.Greater(t, segments, 1, "nothing was removed, rotation went on")
	rep, err := audit.Verify(context.Background(), sink, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, FromStart: true})
	require.NoError(t, err)
	assert.Equal(t, uint64(10), rep.Events)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
