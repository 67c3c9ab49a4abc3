package backup

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Storage holds backup objects under flat names. Implementations:
// backup/local (a directory) and backup/s3 (S3-compatible object storage).
type Storage interface {
	// Put stores everything r yields under name. The object becomes
	// visible only if r reaches io.EOF and the data is durable; if r
	// returns an error, Put returns it and leaves no object.
	Put(ctx context.Context, name string, r io.Reader) error
	// Get opens the object; a missing object is an error matching ErrNotFound.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the names of all complete objects, in any order.
	List(ctx context.Context) ([]string, error)
	// Delete removes the object; a missing object is not an error.
	Delete(ctx context.Context, name string) error
}

// ValidObjectName reports whether name is a name Keel stores: non-empty,
// at most 200 bytes, no path separators, no leading dot.
func ValidObjectName(name string) error {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("backup: invalid object name %q", name)
	}
	return nil
}

// Source produces a plain dump. Implementations: backup/postgres,
// backup/mysql, backup/sqlite, backup/dir.
type Source interface {
	// Driver names the driver ("postgres", "mysql", "sqlite", "dir").
	Driver() string
	// Name describes the source without secrets (host, port, database).
	Name() string
	// Dump writes a complete dump to w. It fails (and the backup is
	// discarded) if the dump tool exits non-zero or is cut short. It
	// returns the versions of the tools it used.
	Dump(ctx context.Context, w io.Writer) (tools map[string]string, err error)
}

// Target receives a restore.
type Target interface {
	Driver() string
	Name() string
	// Empty reports whether the target holds no user data.
	Empty(ctx context.Context) (bool, error)
	// Restore reads a plain dump from r into the target. r fails instead of
	// ending if the dump does not match its manifest; the target must then
	// fail too. replace says the target may hold data that is replaced.
	Restore(ctx context.Context, r io.Reader, replace bool) error
}

// TrialTarget is a Target that can restore into a scratch copy, check it,
// and throw it away: the strongest verify level.
type TrialTarget interface {
	Driver() string
	// TrialRestore restores r into a scratch database, checks it
	// (integrity check where the engine has one), runs sanityQuery if it
	// is not empty, and drops the scratch database. It returns the sanity
	// query's first column of the first row, as text.
	TrialRestore(ctx context.Context, r io.Reader, sanityQuery string) (string, error)
}
