package tool

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestGrowPipeEnlargesTheKernelBuffer(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer func() { _ = r.Close(); _ = w.Close() }()
	before := pipeBuffer(t, r)
	growPipe(r)
	after := pipeBuffer(t, r)
	if after == before && before < pipeSize {
		t.Skipf("the kernel refused to grow the pipe (still %d bytes); growPipe is best effort", before)
	}
	assert.GreaterOrEqual(t, after, pipeSize)
	growPipe(struct{ *os.File }{r}) // not an *os.File: ignored, no panic
}

func pipeBuffer(t *testing.T, f *os.File) int {
	rc, err := f.SyscallConn()
	require.NoError(t, err)
	var size int
	var ferr error
	require.NoError(t, rc.Control(func(fd uintptr) { size, ferr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) }))
	require.NoError(t, ferr)
	return size
}
