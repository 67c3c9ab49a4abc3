package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/keel-go/keel/backup"
)

// Config configures a Driver.
type Config struct {
	// Path is the database file. Required.
	Path string
	// ScratchDir holds the VACUUM INTO copy during a dump and trial
	// restores; default os.TempDir().
	ScratchDir string
}

// Driver dumps and restores one SQLite database file.
type Driver struct {
	cfg Config
}

// New validates cfg.
func New(cfg Config) (*Driver, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: Config.Path is required")
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: Config.Path: %w", err)
	}
	cfg.Path = abs
	if cfg.ScratchDir == "" {
		cfg.ScratchDir = os.TempDir()
	}
	return &Driver{cfg: cfg}, nil
}

// Driver returns "sqlite".
func (d *Driver) Driver() string { return "sqlite" }

// Name returns the database path.
func (d *Driver) Name() string { return "sqlite://" + d.cfg.Path }

// SourceIdentity returns the database file's canonical path.
func (d *Driver) SourceIdentity() backup.SourceIdentity {
	return backup.FileSourceIdentity("sqlite", d.cfg.Path)
}

func open(path string, readOnly bool) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)"
	if readOnly {
		dsn += "&mode=ro"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Dump copies the live database with VACUUM INTO and streams the copy.
func (d *Driver) Dump(ctx context.Context, w io.Writer) (map[string]string, error) {
	if _, err := os.Stat(d.cfg.Path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	dir, err := os.MkdirTemp(d.cfg.ScratchDir, "keel-sqlite-")
	if err != nil {
		return nil, fmt.Errorf("sqlite: scratch directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	copyPath := filepath.Join(dir, "copy.db")

	db, err := open(d.cfg.Path, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", d.cfg.Path, err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", copyPath); err != nil {
		return nil, fmt.Errorf("sqlite: VACUUM INTO: %w", err)
	}
	f, err := os.Open(copyPath)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer func() { _ = f.Close() }()
	if _, err := io.Copy(w, f); err != nil {
		return nil, err
	}
	return map[string]string{"sqlite": version}, nil
}

// Empty reports whether the file is missing, empty, or has no schema objects.
func (d *Driver) Empty(ctx context.Context) (bool, error) {
	st, err := os.Stat(d.cfg.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: %w", err)
	}
	if st.Size() == 0 {
		return true, nil
	}
	db, err := open(d.cfg.Path, true)
	if err != nil {
		return false, err
	}
	defer func() { _ = db.Close() }()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: inspect %s: %w", d.cfg.Path, err)
	}
	return n == 0, nil
}

// Restore writes the dump beside the target, checks it, and renames it
// over the target.
func (d *Driver) Restore(ctx context.Context, r io.Reader, _ bool) error {
	dir := filepath.Dir(d.cfg.Path)
	tmp, err := writeChecked(ctx, dir, r)
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp) }() // no-op after the rename
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(d.cfg.Path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite: remove stale %s: %w", suffix, err)
		}
	}
	if err := os.Rename(tmp, d.cfg.Path); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return syncDir(dir)
}

// writeChecked streams r to a new file in dir, syncs it and runs
// PRAGMA integrity_check; it returns the file's path.
func writeChecked(ctx context.Context, dir string, r io.Reader) (path string, err error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	path = filepath.Join(dir, ".keel-restore-"+hex.EncodeToString(b[:])+".db")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	if _, err = io.Copy(f, r); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", fmt.Errorf("sqlite: sync: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	if err = integrityCheck(ctx, path); err != nil {
		return "", err
	}
	return path, nil
}

func integrityCheck(ctx context.Context, path string) error {
	db, err := open(path, true)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("sqlite: integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("sqlite: integrity check failed: %s", strings.TrimSpace(res))
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer func() { _ = f.Close() }()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync directory: %w", err)
	}
	return nil
}

// TrialRestore writes the dump to a scratch file, runs PRAGMA
// integrity_check and sanityQuery, and removes it.
func (d *Driver) TrialRestore(ctx context.Context, r io.Reader, sanityQuery string) (string, error) {
	dir, err := os.MkdirTemp(d.cfg.ScratchDir, "keel-sqlite-")
	if err != nil {
		return "", fmt.Errorf("sqlite: scratch directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	path, err := writeChecked(ctx, dir, r)
	if err != nil {
		return "", err
	}
	if sanityQuery == "" {
		return "", nil
	}
	db, err := open(path, true)
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	var v sql.NullString
	if err := db.QueryRowContext(ctx, sanityQuery).Scan(&v); err != nil {
		return "", fmt.Errorf("sqlite: sanity query: %w", err)
	}
	return v.String, nil
}

var (
	_ backup.Source           = (*Driver)(nil)
	_ backup.Target           = (*Driver)(nil)
	_ backup.TrialTarget      = (*Driver)(nil)
	_ backup.SourceIdentifier = (*Driver)(nil)
)
