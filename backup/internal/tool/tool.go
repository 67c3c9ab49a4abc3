package tool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// Command is one program run.
type Command struct {
	// Path is the program (looked up in PATH when it has no slash).
	Path string
	Args []string
	// Env is the complete environment of the program.
	Env []string
	// Stdin, if set, is copied to the program's standard input. If
	// reading it fails, the program is killed before its input is closed,
	// so it never mistakes a failed stream for a complete one.
	Stdin io.Reader
	// Stdout, if set, receives the program's standard output. If writing
	// fails, the program is killed.
	Stdout io.Writer
}

// stderrTail is how much of stderr an error carries.
const stderrTail = 2048

// Run runs c and waits for it. It fails if the program exits non-zero,
// is killed, or a copy fails.
func Run(ctx context.Context, c Command) error {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	tail := &tailBuffer{max: stderrTail}
	cmd.Stderr = tail
	var stdout io.ReadCloser
	var stdin io.WriteCloser
	var err error
	if c.Stdout != nil {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return err
		}
		growPipe(stdout)
	}
	if c.Stdin != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return err
		}
	}
	name := c.Path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	var inErr error
	var wg sync.WaitGroup
	if stdin != nil {
		wg.Go(func() {
			if _, err := io.Copy(stdin, c.Stdin); err != nil && !isBrokenPipe(err) {
				inErr = err
				_ = cmd.Process.Kill()
			}
			_ = stdin.Close()
		})
	}
	var outErr error
	if stdout != nil {
		if _, err := copyOutput(c.Stdout, stdout); err != nil {
			outErr = err
			_ = cmd.Process.Kill()
		}
	}
	wg.Wait()
	waitErr := cmd.Wait()
	switch {
	case inErr != nil:
		return fmt.Errorf("%s input: %w", name, inErr)
	case outErr != nil:
		return fmt.Errorf("%s output: %w", name, outErr)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", name, ctx.Err())
	case waitErr != nil:
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			return fmt.Errorf("%s failed (%s): %s", name, ee.ProcessState, tail.String())
		}
		return fmt.Errorf("%s: %w", name, waitErr)
	}
	return nil
}

// Output runs a short command (a version query) and returns its stdout.
func Output(ctx context.Context, path string, args []string, env []string) (string, error) {
	var out bytes.Buffer
	err := Run(ctx, Command{Path: path, Args: args, Env: env, Stdout: &out})
	return strings.TrimSpace(out.String()), err
}

// outputBuffer is the read size from a program's standard output: with a
// 1 MiB pipe a read often finds more than io.Copy's 32 KiB, and fewer,
// larger reads cost fewer system calls and wake-ups.
const outputBuffer = 256 << 10

// copyOutput copies a program's output to w: into w directly if w reads
// for itself (io.ReaderFrom), else through an outputBuffer-sized buffer.
func copyOutput(w io.Writer, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	// The wrappers hide *os.File's WriterTo, which would copy through
	// io.Copy's 32 KiB buffer instead of this one.
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, make([]byte, outputBuffer))
}

func isBrokenPipe(err error) bool {
	return strings.Contains(err.Error(), "broken pipe") || errors.Is(err, io.ErrClosedPipe)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "no error output"
	}
	return s
}
