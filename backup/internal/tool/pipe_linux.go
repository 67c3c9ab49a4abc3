package tool

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the kernel buffer asked for on the pipe from a program's
// standard output: the default 64 KiB makes the program wait whenever its
// reader is not scheduled (pg_dump writes 4 KiB at a time, so a busy
// reader stalls it every 16 writes); 1 MiB is Linux's default
// /proc/sys/fs/pipe-max-size, allowed without privileges.
const pipeSize = 1 << 20

// growPipe enlarges the pipe behind r to pipeSize. It is best effort: the
// kernel may refuse (a user over /proc/sys/fs/pipe-user-pages-soft, a
// lower pipe-max-size), and the default pipe still works, only slower.
func growPipe(r io.Reader) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
	})
}
