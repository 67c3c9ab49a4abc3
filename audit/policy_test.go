package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

// faultySink injects the faults a disk can have into a real FileSink: a
// failing write, or a write that stalls until released.
type faultySink struct {
	*FileSink
	fail  atomic.Bool
	gate  chan struct{} // when non-nil, Append waits for a value
	calls atomic.Int64
}

func (f *faultySink) Append(ctx context.Context, recs []*Record, sync bool) error {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if f.fail.Load() {
		return errors.New("injected: no space left on device")
	}
	return f.FileSink.Append(ctx, recs, sync)
}

func newFaulty(t *testing.T, dir string) *faultySink {
	t.Helper()
	s, err := NewFileSink(FileSinkConfig{Dir: dir})
	require.NoError(t, err)
	return &faultySink{FileSink: s}
}

func collectRecords(t *testing.T, dir string) []*Record {
	t.Helper()
	var out []*Record
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(t, err)
		r, err := DecodeLine(line.Bytes)
		require.NoError(t, err)
		r.Line = nil
		out = append(out, r)
	}
	return out
}

// stalled returns a Logger whose only sink blocks in Append until the
// returned release is called, and whose queue holds one event.
func stalled(t *testing.T, dir string, policy FullPolicy, mode Mode) (*Logger, func()) {
	t.Helper()
	fs := newFaulty(t, dir)
	fs.gate = make(chan struct{})
	l, err := New(Config{Sinks: []Sink{fs}, SigningKey: testKey(t), QueueSize: 1, MaxBatch: 1, OnFull: policy, Mode: mode})
	require.NoError(t, err)
	released := false
	release := func() {
		if !released {
			released = true
			close(fs.gate)
		}
	}
	t.Cleanup(release)
	// The first event occupies the writer, the second the queue.
	require.NoError(t, l.Log(context.Background(), event(0)))
	require.Eventually(t, func() bool { return fs.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, l.Log(context.Background(), event(1)))
	return l, release
}

func TestQueueFullPolicies(t *testing.T) {
	t.Run("Fail refuses at once", func(t *testing.T) {
		dir := t.TempDir()
		l, release := stalled(t, dir, Fail, Buffered)
		err := l.Log(context.Background(), event(2))
		require.ErrorIs(t, err, ErrQueueFull)
		release()
		require.NoError(t, l.Close())
		rep, err := verifyDir(t, dir, false)
		require.NoError(t, err)
		assert.Equal(t, uint64(2), rep.Events)
		assert.Zero(t, rep.Gaps)
	})
	t.Run("Block waits until ctx ends", func(t *testing.T) {
		dir := t.TempDir()
		l, release := stalled(t, dir, Block, Buffered)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, l.Log(ctx, event(2)), context.DeadlineExceeded)
		release()
		require.NoError(t, l.Close())
	})
	t.Run("Drop leaves a signed gap record", func(t *testing.T) {
		dir := t.TempDir()
		l, release := stalled(t, dir, Drop, Buffered)
		for i := range 3 {
			require.NoError(t, l.Log(context.Background(), event(10+i)))
		}
		release()
		require.NoError(t, l.Close())
		rep, err := verifyDir(t, dir, false)
		require.NoError(t, err)
		assert.Equal(t, uint64(2), rep.Events)
		assert.Equal(t, uint64(1), rep.Gaps)
		assert.Equal(t, uint64(3), rep.Dropped)
		recs := collectRecords(t, dir)
		for i, r := range recs {
			if r.Kind == KindGap {
				assert.Equal(t, "queue_full", r.Gap.Cause)
				require.Less(t, i+1, len(recs))
				assert.Equal(t, KindCheckpoint, recs[i+1].Kind, "a gap is signed at once")
			}
		}
	})
}

func TestDurableSinkFailure(t *testing.T) {
	t.Run("AllSinks fails the caller and records the gap", func(t *testing.T) {
		dir := t.TempDir()
		fs := newFaulty(t, dir)
		l, err := New(Config{Sinks: []Sink{fs}, SigningKey: testKey(t)})
		require.NoError(t, err)
		require.NoError(t, l.Log(context.Background(), event(0)))
		fs.fail.Store(true)
		err = l.Log(context.Background(), event(1))
		require.ErrorIs(t, err, ErrSink)
		assert.Contains(t, err.Error(), "no space left")
		fs.fail.Store(false)
		require.NoError(t, l.Log(context.Background(), event(2)))
		require.NoError(t, l.Close())
		rep, err := verifyDir(t, dir, false)
		require.NoError(t, err, "the chain stays intact across the failure")
		assert.Equal(t, uint64(2), rep.Events)
		assert.Equal(t, uint64(1), rep.Dropped)
	})
	t.Run("AnySink succeeds while one sink works", func(t *testing.T) {
		good, bad := t.TempDir(), t.TempDir()
		gs, err := NewFileSink(FileSinkConfig{Dir: good})
		require.NoError(t, err)
		bs := newFaulty(t, bad)
		l, err := New(Config{Sinks: []Sink{gs, bs}, SinkPolicy: AnySink, SigningKey: testKey(t)})
		require.NoError(t, err)
		bs.fail.Store(true)
		require.NoError(t, l.Log(context.Background(), event(0)))
		require.NoError(t, l.Log(context.Background(), event(1)))
		bs.fail.Store(false)
		require.NoError(t, l.Log(context.Background(), event(2)))
		require.NoError(t, l.Close())

		rep, err := verifyDir(t, good, false)
		require.NoError(t, err)
		assert.Equal(t, uint64(3), rep.Events)
		rep, err = verifyDir(t, bad, false)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), rep.Events)
		assert.Equal(t, uint64(2), rep.Dropped, "the failed sink says what it missed")
	})
	t.Run("AnySink fails when every sink fails", func(t *testing.T) {
		bs := newFaulty(t, t.TempDir())
		l, err := New(Config{Sinks: []Sink{bs}, SinkPolicy: AnySink, SigningKey: testKey(t)})
		require.NoError(t, err)
		bs.fail.Store(true)
		require.ErrorIs(t, l.Log(context.Background(), event(0)), ErrSink)
		bs.fail.Store(false)
		require.NoError(t, l.Close())
	})
}

func TestBufferedModeRetriesUntilTheSinkRecovers(t *testing.T) {
	dir := t.TempDir()
	fs := newFaulty(t, dir)
	fs.fail.Store(true)
	l, err := New(Config{Sinks: []Sink{fs}, SigningKey: testKey(t), Mode: Buffered, OnFull: Fail})
	require.NoError(t, err)
	require.NoError(t, l.Log(context.Background(), event(0)), "buffered: acknowledged at enqueue")
	require.Eventually(t, func() bool { return fs.calls.Load() >= 2 }, 5*time.Second, time.Millisecond, "the writer retries")
	require.ErrorIs(t, l.Log(context.Background(), event(1)), ErrSink, "OnFull Fail refuses while the sink fails")
	fs.fail.Store(false)
	require.NoError(t, l.Close())
	rep, err := verifyDir(t, dir, false)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), rep.Events, "the acknowledged event was not lost")
}

func TestLogRejectsInvalidEventsAndClosedLogger(t *testing.T) {
	l, _ := newFileLogger(t, t.TempDir(), nil)
	require.ErrorIs(t, l.Log(context.Background(), Event{Outcome: Success}), ErrInvalidEvent)
	require.ErrorIs(t, l.Log(context.Background(), Event{Action: "x", Outcome: "maybe"}), ErrInvalidEvent)
	require.ErrorIs(t, l.Log(context.Background(), Event{Action: "x", Outcome: Success, After: map[string]any{"f": func() {}}}), ErrInvalidEvent)
	huge := Event{Action: "x", Outcome: Success, Metadata: map[string]any{}}
	for i := range 100 {
		huge.Metadata[strconv.Itoa(i)] = strings.Repeat("a", DefaultMaxFieldSize)
	}
	require.ErrorIs(t, l.Log(context.Background(), huge), ErrInvalidEvent, "an event over Config.MaxEventSize once its fields are capped is refused")
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close is idempotent")
	require.ErrorIs(t, l.Log(context.Background(), event(0)), ErrClosed)
}

func TestEventFieldsFromContextAndRedaction(t *testing.T) {
	dir := t.TempDir()
	key := []byte("0123456789abcdef0123456789abcdef")
	l, _ := newFileLogger(t, dir, func(c *Config, _ *FileSinkConfig) {
		c.Sensitive = []SensitiveField{{Name: "card", Treatment: Mask, KeepLast: 4}, {Name: "email", Treatment: HMAC},
			{Name: "actor.ip", Treatment: HMAC}, {Name: "reason", Treatment: Mask}}
		c.HMACKey = key
	})
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	before := map[string]any{"card": "4111111111111111", "nested": map[string]any{"email": "ann@example.com"}}
	require.NoError(t, l.Log(ctx, Event{Action: "customer.update", Outcome: Success, Before: before,
		Actor: Actor{ID: "u-1", IP: "203.0.113.9"}, Reason: "card 4111 declined",
		After: map[string]any{"list": []any{map[string]any{"email": "bob@example.com"}}}}))
	require.NoError(t, l.Close())
	assert.Equal(t, "4111111111111111", before["card"], "the caller's map is not modified")

	recs := collectRecords(t, dir)
	e := recs[0].Event
	assert.Equal(t, sc.TraceID().String(), e.TraceID)
	assert.Equal(t, sc.SpanID().String(), e.SpanID)
	assert.Equal(t, "****1111", e.Before["card"])
	assert.Equal(t, HMACValue(key, "ann@example.com"), e.Before["nested"].(map[string]any)["email"])
	assert.Equal(t, HMACValue(key, "bob@example.com"), e.After["list"].([]any)[0].(map[string]any)["email"])
	assert.NotContains(t, string(recs[0].Line), "example.com")
	assert.Equal(t, HMACValue(key, "203.0.113.9"), e.Actor.IP)
	assert.Equal(t, "u-1", e.Actor.ID)
	assert.Equal(t, "****", e.Reason)
}

func TestConfigValidationNamesTheField(t *testing.T) {
	sink, err := NewFileSink(FileSinkConfig{Dir: t.TempDir()})
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no sinks", Config{SigningKey: testKey(t)}, "Config.Sinks"},
		{"no key", Config{Sinks: []Sink{sink}}, "Config.SigningKey"},
		{"bad mode", Config{Sinks: []Sink{sink}, SigningKey: testKey(t), Mode: 7}, "Config.Mode"},
		{"bad policy", Config{Sinks: []Sink{sink}, SigningKey: testKey(t), OnFull: 9}, "Config.OnFull"},
		{"negative queue", Config{Sinks: []Sink{sink}, SigningKey: testKey(t), QueueSize: -1}, "Config.QueueSize"},
		{"negative interval", Config{Sinks: []Sink{sink}, SigningKey: testKey(t), CheckpointInterval: -1}, "Config.CheckpointInterval"},
		{"short hmac key", Config{Sinks: []Sink{sink}, SigningKey: testKey(t), Sensitive: []SensitiveField{{Name: "x", Treatment: HMAC}}}, "Config.HMACKey"},
		{"bad keep", Config{Sinks: []Sink{sink}, SigningKey: testKey(t), Sensitive: []SensitiveField{{Name: "x", KeepLast: 9}}}, "KeepLast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "audit: ")
		})
	}
	_, err = NewFileSink(FileSinkConfig{})
	assert.ErrorContains(t, err, "FileSinkConfig.Dir")
}

func TestCloseGivesUpOnAFailingSinkAndReportsLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		fs := newFaulty(t, dir)
		fs.fail.Store(true)
		l, err := New(Config{Sinks: []Sink{fs}, SigningKey: testKey(t), Mode: Buffered, QueueSize: 1, MaxBatch: 1})
		require.NoError(t, err)
		require.NoError(t, l.Log(context.Background(), event(0)))
		synctest.Wait()                                           // the writer is retrying the failed batch
		require.NoError(t, l.Log(context.Background(), event(1))) // fills the queue
		blocked := make(chan error)
		go func() { blocked <- l.Log(context.Background(), event(2)) }()
		synctest.Wait() // the third caller is blocked on the full queue (OnFull Block)

		err = l.Close()
		require.Error(t, err, "Close does not hang, and says what was lost")
		assert.Contains(t, err.Error(), "were not persisted")
		assert.NoError(t, <-blocked, "the blocked caller got its event into the queue")
	})
}

func TestConfigNeverPrintsKeys(t *testing.T) {
	cfg := Config{SigningKey: testKey(t), HMACKey: []byte("hmac-secret-hmac-secret-hmac-secret")}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg), fmt.Sprintf("%x", cfg), buf.String()} {
		assert.Contains(t, s, "[REDACTED]")
		assert.NotContains(t, s, "hmac-secret")
		assert.NotContains(t, s, "0707")
		assert.NotContains(t, s, "7 7 7")
	}
}

func TestLogWithEndedContextRecordsNothing(t *testing.T) {
	dir := t.TempDir()
	l, _ := newFileLogger(t, dir, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, l.Log(ctx, event(0)), context.Canceled)
	require.NoError(t, l.Close())
	rep, err := verifyDir(t, dir, false)
	require.NoError(t, err)
	assert.Zero(t, rep.Events)
}
