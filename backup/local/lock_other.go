//go:build !unix

package local

import "context"

// TryLock is a no-op where backup.FileLock is not implemented: updates of
// the index from several processes sharing the directory are then not
// serialised (a lost update is healed by the next one; see backup.Config.Lock).
func (s *Storage) TryLock(context.Context) (func() error, error) {
	return func() error { return nil }, nil
}
