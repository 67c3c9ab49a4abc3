package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// The data directory holds the database (names and companies in clear), key
// files and the audit log: only the service's user may enter it, and the
// files the service creates in it are 0600 (audit-signing.pub, the public
// half, excepted).

// secureDataDir creates dir 0700, or tightens an existing one that others
// can read or enter, saying so in the log.
func secureDataDir(dir string, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("salesapi: data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("salesapi: data directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("salesapi: data directory %s is mode %04o and cannot be made 0700: %w", dir, perm, err)
		}
		logger.Warn("data directory was open to other users: made 0700", "dir", dir, "was", fmt.Sprintf("%04o", perm))
	}
	return nil
}

// prepareSQLiteFile creates the database file 0600 before SQLite opens it,
// and tightens the mode of one an earlier version created 0644. SQLite
// gives its -wal, -shm and -journal files the database file's mode, so
// they follow; those already there are tightened too.
func prepareSQLiteFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("salesapi: database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("salesapi: database file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("salesapi: database file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("salesapi: database file %s: %w", p, err)
			}
		}
	}
	return nil
}
