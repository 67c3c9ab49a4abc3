//go:build unix

package local

import (
	"context"
	"path/filepath"

	"github.com/keel-go/keel/backup"
)

// lockName is the lock file of the directory; the leading dot keeps it
// out of List.
const lockName = ".keel-index.lock"

// TryLock implements backup.Locker with a file lock in the directory,
// which a Repository takes around each update of its index: processes on
// this host that share the directory then never overwrite each other's
// updates. The kernel releases it if a holder crashes.
func (s *Storage) TryLock(ctx context.Context) (func() error, error) {
	return backup.FileLock{Path: filepath.Join(s.dir, lockName)}.TryLock(ctx)
}

var _ backup.Locker = (*Storage)(nil)
