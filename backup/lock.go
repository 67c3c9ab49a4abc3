//go:build unix

package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// FileLock is a Locker on an advisory lock (flock) of a file. The kernel
// releases it when the holding process exits for any reason, so a crashed
// run never holds it: the next run takes it. It works between processes
// on one host (and on file systems with working flock); the file itself
// is left in place and holds the holder's pid and start time for
// operators.
type FileLock struct {
	Path string
}

// TryLock implements Locker.
func (l FileLock) TryLock(context.Context) (func() error, error) {
	if l.Path == "" {
		return nil, errors.New("backup: FileLock.Path is empty")
	}
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: lock %s: %w", l.Path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, l.Path)
		}
		return nil, fmt.Errorf("backup: lock %s: %w", l.Path, err)
	}
	// Best effort: who holds it, for an operator's eyes.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0)
	}
	return func() error {
		uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return errors.Join(uerr, f.Close())
	}, nil
}
