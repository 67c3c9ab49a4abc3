package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crashChildEnv, when set to a directory, turns the test binary into the
// child of TestCrashDurableSIGKILL.
const crashChildEnv = "KEEL_AUDIT_CRASH_CHILD_DIR"

// crashChild logs durably from many goroutines until it is killed, printing
// "ack <id>" for every event whose Log returned nil.
func crashChild() {
	dir := os.Getenv(crashChildEnv)
	sink, err := NewFileSink(FileSinkConfig{Dir: dir, MaxSize: 64 << 10}) // small segments: rotation under load
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	l, err := New(Config{Sinks: []Sink{sink}, SigningKey: testKey(nil), CheckpointEvery: 50})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				e := event(i)
				e.Resource.ID = fmt.Sprintf("crash-%d-%d", g, i)
				if err := l.Log(context.Background(), e); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s\n", e.Resource.ID)
				_ = out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestCrashDurableSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	acked := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "ack ")
		require.True(t, ok, "unexpected child output %q", sc.Text())
		acked[id] = true
		if len(acked) == 2000 && !killed {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true
		}
	}
	require.True(t, killed, "the child stopped before it was killed")
	_ = cmd.Wait()

	// Reopening records any torn tail; closing seals the log.
	l, _ := newFileLogger(t, dir, nil)
	require.NoError(t, l.Close())
	rep, err := verifyDir(t, dir, false)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rep.Events, uint64(len(acked)))

	present := map[string]bool{}
	for r, err := range Query(context.Background(), DirSource(dir), Filter{}) {
		require.NoError(t, err)
		present[r.Event.Resource.ID] = true
	}
	missing := 0
	for id := range acked {
		if !present[id] {
			missing++
		}
	}
	assert.Zero(t, missing, "acknowledged events missing after the crash")
	t.Logf("acknowledged %d, present %d, recoveries %d", len(acked), len(present), rep.Recoveries)
}

func TestReopenRecordsTornLastLine(t *testing.T) {
	dir := t.TempDir()
	l, _ := newFileLogger(t, dir, nil)
	for i := range 5 {
		require.NoError(t, l.Log(context.Background(), event(i)))
	}
	// Stop the writer without Close's final checkpoint, as a crash would,
	// then leave half a record at the end of the segment.
	lines, path := readLines(t, dir)
	require.NoError(t, l.Close())
	writeLines(t, path, lines)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":1,"seq":6,"kind":"event","ti`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l, _ = newFileLogger(t, dir, nil)
	require.NoError(t, l.Log(context.Background(), event(6)))
	require.NoError(t, l.Close())

	rep, err := verifyDir(t, dir, false)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), rep.Recoveries)
	assert.Equal(t, uint64(6), rep.Events)

	var rec *Record
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(t, err)
		r, err := DecodeLine(line.Bytes)
		require.NoError(t, err)
		if r.Kind == KindRecovery {
			rec = r
		}
	}
	require.NotNil(t, rec)
	assert.Equal(t, int64(len(`{"v":1,"seq":6,"kind":"event","ti`)), rec.Recovery.DiscardedBytes)
	torn, err := os.ReadFile(fmt.Sprintf("%s.torn-%d", path, rec.Recovery.Offset))
	require.NoError(t, err, "the discarded bytes are kept aside")
	assert.Equal(t, `{"v":1,"seq":6,"kind":"event","ti`, string(torn))
}

func TestReopenAfterCrashDuringRotation(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 3, nil)
	// The process stopped right after creating the next segment.
	require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(5)), nil, 0o600))
	writeLog(t, dir, 2, nil)
	names, err := listSegments(dir)
	require.NoError(t, err)
	require.Len(t, names, 2)
	first := collectRecords(t, dir)[4]
	assert.Equal(t, KindCheckpoint, first.Kind, "the new segment starts with a signed checkpoint")
	assert.Equal(t, uint64(5), first.Seq)

	_, err = verifyDir(t, dir, false)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, names[0])))
	rep, err := verifyDir(t, dir, false)
	require.NoError(t, err, "the second segment verifies on its own")
	assert.Equal(t, uint64(5), rep.FirstSeq)
}
