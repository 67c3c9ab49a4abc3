package dir

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/keel-go/keel/backup"
)

// Config configures a Driver.
type Config struct {
	// Path is the directory. Required.
	Path string
}

// Driver dumps and restores one directory tree.
type Driver struct {
	root string
}

// New validates cfg.
func New(cfg Config) (*Driver, error) {
	if cfg.Path == "" {
		return nil, errors.New("dir: Config.Path is required")
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("dir: Config.Path: %w", err)
	}
	return &Driver{root: filepath.Clean(abs)}, nil
}

// Driver returns "dir".
func (d *Driver) Driver() string { return "dir" }

// Name returns the directory path.
func (d *Driver) Name() string { return "dir://" + d.root }

// SourceIdentity returns the directory's canonical path.
func (d *Driver) SourceIdentity() backup.SourceIdentity {
	return backup.FileSourceIdentity("dir", d.root)
}

// Dump writes the tree as a tar stream.
func (d *Driver) Dump(ctx context.Context, w io.Writer) (map[string]string, error) {
	st, err := os.Stat(d.root)
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dir: %s is not a directory", d.root)
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(d.root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == d.root {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case info.Mode().IsRegular(), info.IsDir():
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return nil // sockets, devices, pipes
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Format = tar.FormatPAX
		hdr.Uname, hdr.Gname = "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			n, err := io.Copy(tw, f)
			_ = f.Close()
			if err != nil {
				return err
			}
			if n != hdr.Size {
				return fmt.Errorf("%s changed size while being read", rel)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	return map[string]string{"tar": "pax"}, nil
}

// Empty reports whether the directory is missing or has no entries.
func (d *Driver) Empty(context.Context) (bool, error) {
	des, err := os.ReadDir(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("dir: %w", err)
	}
	return len(des) == 0, nil
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Restore extracts the tar stream into a new directory and swaps it into
// place.
func (d *Driver) Restore(ctx context.Context, r io.Reader, _ bool) error {
	parent := filepath.Dir(d.root)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	fresh := filepath.Join(parent, "."+filepath.Base(d.root)+".keel-restore-"+randomSuffix())
	if err := os.Mkdir(fresh, 0o700); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	if err := extract(ctx, fresh, r); err != nil {
		_ = os.RemoveAll(fresh)
		return err
	}
	old := ""
	if _, err := os.Lstat(d.root); err == nil {
		old = filepath.Join(parent, "."+filepath.Base(d.root)+".keel-old-"+randomSuffix())
		if err := os.Rename(d.root, old); err != nil {
			_ = os.RemoveAll(fresh)
			return fmt.Errorf("dir: move old tree aside: %w", err)
		}
	}
	if err := os.Rename(fresh, d.root); err != nil {
		if old != "" {
			_ = os.Rename(old, d.root)
		}
		_ = os.RemoveAll(fresh)
		return fmt.Errorf("dir: %w", err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("dir: restored, but the old tree %s could not be removed: %w", old, err)
		}
	}
	return nil
}

// extract writes the archive into dir, confined by an os.Root.
func extract(ctx context.Context, dir string, r io.Reader) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	defer func() { _ = root.Close() }()
	type dirTime struct {
		name  string
		mtime time.Time
		mode  fs.FileMode
	}
	var dirs []dirTime
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("dir: read archive: %w", err)
		}
		name := path.Clean(hdr.Name)
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return fmt.Errorf("dir: archive entry %q points outside the target", hdr.Name)
		}
		name = filepath.FromSlash(name)
		if d := filepath.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("dir: %w", err)
			}
		}
		mode := hdr.FileInfo().Mode()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("dir: %w", err)
			}
			dirs = append(dirs, dirTime{name, hdr.ModTime, mode.Perm()})
		case tar.TypeReg:
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("dir: %w", err)
			}
			_, err = io.Copy(f, tr)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("dir: write %s: %w", name, err)
			}
			if err := root.Chmod(name, mode.Perm()); err != nil {
				return fmt.Errorf("dir: %w", err)
			}
			if err := root.Chtimes(name, hdr.ModTime, hdr.ModTime); err != nil {
				return fmt.Errorf("dir: %w", err)
			}
		case tar.TypeSymlink:
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return fmt.Errorf("dir: %w", err)
			}
		default:
			return fmt.Errorf("dir: archive entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
		}
	}
	// Directories last, deepest first: writing into a directory changes
	// its time, and a read-only mode would stop the writes.
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := root.Chmod(d.name, d.mode); err != nil {
			return fmt.Errorf("dir: %w", err)
		}
		if err := root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
			return fmt.Errorf("dir: %w", err)
		}
	}
	return nil
}

var (
	_ backup.Source           = (*Driver)(nil)
	_ backup.Target           = (*Driver)(nil)
	_ backup.SourceIdentifier = (*Driver)(nil)
)
