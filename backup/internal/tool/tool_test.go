package tool_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/backup/internal/tool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type failAfter struct {
	r io.Reader
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("stream corrupt")
	}
	return n, err
}

// A program whose input fails must be killed, never see a clean end of
// input: a SQL client would otherwise commit half a dump.
func TestFailingInputKillsTheProgram(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "finished")
	script := "cat > " + filepath.Join(dir, "got") + " && echo yes > " + marker
	err := tool.Run(context.Background(), tool.Command{
		Path: "sh", Args: []string{"-c", script}, Env: os.Environ(),
		Stdin: &failAfter{strings.NewReader(strings.Repeat("INSERT …;\n", 10000))},
	})
	require.ErrorContains(t, err, "stream corrupt")
	_, statErr := os.Stat(marker)
	assert.True(t, os.IsNotExist(statErr), "the program saw end of input and finished")

	// With good input it finishes.
	err = tool.Run(context.Background(), tool.Command{
		Path: "sh", Args: []string{"-c", script}, Env: os.Environ(),
		Stdin: strings.NewReader("ok\n"),
	})
	require.NoError(t, err)
	_, err = os.Stat(marker)
	require.NoError(t, err)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("storage gone") }

func TestFailingOutputKillsTheProgram(t *testing.T) {
	// yes never ends by itself: only the kill stops it.
	err := tool.Run(context.Background(), tool.Command{Path: "yes", Env: os.Environ(), Stdout: failingWriter{}})
	require.ErrorContains(t, err, "storage gone")
}

func TestNonZeroExitCarriesStderrTail(t *testing.T) {
	var out bytes.Buffer
	err := tool.Run(context.Background(), tool.Command{
		Path: "sh", Args: []string{"-c", "echo partial; echo 'pg_dump: error: connection refused' >&2; exit 3"},
		Env: os.Environ(), Stdout: &out,
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exit status 3")
	assert.Contains(t, err.Error(), "connection refused")
	assert.Equal(t, "partial\n", out.String())

	_, err = tool.Output(context.Background(), "/nonexistent/tool", nil, nil)
	require.Error(t, err)
}

func TestCancelKillsTheProgram(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := tool.Run(ctx, tool.Command{Path: "sleep", Args: []string{"60"}, Env: os.Environ()})
	require.Error(t, err)
}

// plainWriter hides bytes.Buffer's ReadFrom, so Run copies through its
// own buffer.
type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// Output larger than the pipe and the copy buffer arrives whole and in
// order, whether the writer reads for itself (io.ReaderFrom) or not.
func TestLargeOutputArrivesWhole(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "dump")
	data := make([]byte, 5<<20+12345)
	for i := range data {
		data[i] = byte(i*7919 + i/4093)
	}
	require.NoError(t, os.WriteFile(src, data, 0o600))
	for name, wrap := range map[string]func(*bytes.Buffer) io.Writer{
		"reader-from": func(b *bytes.Buffer) io.Writer { return b },
		"plain":       func(b *bytes.Buffer) io.Writer { return plainWriter{b} },
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			// dd writes 4 KiB at a time, as pg_dump does.
			err := tool.Run(context.Background(), tool.Command{Path: "dd", Args: []string{"if=" + src, "bs=4096", "status=none"},
				Env: os.Environ(), Stdout: wrap(&out)})
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, out.Bytes()), "got %d bytes, want %d", out.Len(), len(data))
		})
	}
}
