package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/keel-go/keel/backup"
)

// Storage stores objects as files in Dir.
type Storage struct {
	dir string
}

// New returns a Storage in dir, creating it (0700) if needed.
func New(dir string) (*Storage, error) {
	if dir == "" {
		return nil, errors.New("local: directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	return &Storage{dir: dir}, nil
}

// Dir returns the directory.
func (s *Storage) Dir() string { return s.dir }

// Put implements backup.Storage.
func (s *Storage) Put(ctx context.Context, name string, r io.Reader) (err error) {
	if err := backup.ValidObjectName(name); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = io.Copy(f, ctxReader{ctx, r}); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("local: sync: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("local: close: %w", err)
	}
	if err = os.Rename(f.Name(), filepath.Join(s.dir, name)); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return s.syncDir()
}

func (s *Storage) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("local: sync directory: %w", err)
	}
	return nil
}

// Get implements backup.Storage.
func (s *Storage) Get(_ context.Context, name string) (io.ReadCloser, error) {
	if err := backup.ValidObjectName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", backup.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	return f, nil
}

// List implements backup.Storage.
func (s *Storage) List(context.Context) ([]string, error) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() && !strings.HasPrefix(de.Name(), ".") {
			names = append(names, de.Name())
		}
	}
	return names, nil
}

// Delete implements backup.Storage.
func (s *Storage) Delete(_ context.Context, name string) error {
	if err := backup.ValidObjectName(name); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return s.syncDir()
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

var _ backup.Storage = (*Storage)(nil)
