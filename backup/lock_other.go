//go:build !unix

package backup

import (
	"context"
	"errors"
)

// FileLock is a Locker on an advisory file lock; it needs a Unix system.
type FileLock struct {
	Path string
}

// TryLock fails: advisory file locks are implemented for Unix only.
func (l FileLock) TryLock(context.Context) (func() error, error) {
	return nil, errors.New("backup: FileLock needs a Unix system")
}
