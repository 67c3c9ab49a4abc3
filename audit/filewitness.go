package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// witnessFormat is the "format" member of a file witness.
const witnessFormat = "keel.audit.witness/v1"

// maxWitnessFile bounds what ReadHead reads: a witness file is a few hundred
// bytes, and a larger one is not a witness.
const maxWitnessFile = 4 << 10

// FileWitness keeps a log's head in one small JSON file (docs/FORMATS.md),
// replaced atomically (temporary file, fsync, rename, directory fsync) at
// each Publish. Put it on another volume than the log, one that whoever can
// edit the log cannot write: a file beside the log proves nothing. It is
// safe for concurrent use within one process; one Logger publishes to it.
type FileWitness struct {
	path string
	mu   sync.Mutex
}

// NewFileWitness returns a witness kept in the file at path. The file need
// not exist yet (nothing witnessed); its directory must.
func NewFileWitness(path string) (*FileWitness, error) {
	if path == "" {
		return nil, errors.New("audit: the witness file path is empty")
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("audit: witness directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("audit: witness directory %s is not a directory", dir)
	}
	return &FileWitness{path: path}, nil
}

// fileHead is the file's content.
type fileHead struct {
	Format string `json:"format"`
	Log    string `json:"log"`
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash"`
	Time   string `json:"time"`
}

// Head reads the file; a missing file is the zero Head.
func (w *FileWitness) Head(ctx context.Context) (Head, error) {
	var h Head
	err := w.within(ctx, func() (err error) {
		h, err = w.read()
		return err
	})
	return h, err
}

// within runs op, one at a time, and gives up when ctx ends first: a file
// on another volume (a hung network mount) can block in the kernel for good,
// and no caller may wait for it longer than its context allows. The
// operation itself then finishes, or not, on its own goroutine.
func (w *FileWitness) within(ctx context.Context, op func() error) error {
	done := make(chan error, 1)
	go func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		done <- op()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit: witness file %s: %w", w.path, ctx.Err())
	}
}

// read reads the file. Only a regular file is opened: opening a FIFO, a
// device or a socket placed at the path could block or read forever.
func (w *FileWitness) read() (Head, error) {
	fi, err := os.Lstat(w.path)
	if errors.Is(err, os.ErrNotExist) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("audit: read witness: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Head{}, fmt.Errorf("audit: witness %s is not a regular file (mode %v)", w.path, fi.Mode())
	}
	f, err := os.OpenFile(w.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Head{}, fmt.Errorf("audit: read witness: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWitnessFile+1))
	if err != nil {
		return Head{}, fmt.Errorf("audit: read witness: %w", err)
	}
	h, err := ParseWitnessFile(data)
	if err != nil {
		return Head{}, fmt.Errorf("audit: witness file %s: %w", w.path, err)
	}
	return h, nil
}

// ParseWitnessFile decodes a file witness's content strictly: exactly the
// members of docs/FORMATS.md, each once, in their exact case.
func ParseWitnessFile(data []byte) (Head, error) {
	if len(data) > maxWitnessFile {
		return Head{}, fmt.Errorf("%w: a witness file is at most %d bytes", ErrMalformed, maxWitnessFile)
	}
	if err := exactMembers(data, "format", "log", "seq", "hash", "time"); err != nil {
		return Head{}, err
	}
	var fh fileHead
	if err := json.Unmarshal(data, &fh); err != nil {
		return Head{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if fh.Format != witnessFormat {
		return Head{}, fmt.Errorf("%w: format %q, want %q", ErrMalformed, fh.Format, witnessFormat)
	}
	t, err := time.Parse(time.RFC3339Nano, fh.Time)
	if err != nil {
		return Head{}, fmt.Errorf("%w: time: %v", ErrMalformed, err)
	}
	h := Head{LogID: fh.Log, Seq: fh.Seq, Hash: fh.Hash, Time: t}
	if err := h.valid(); err != nil {
		return Head{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return h, nil
}

// exactMembers checks that data is one JSON object whose members are
// exactly names, each once, spelled exactly: encoding/json alone would
// match member names case-insensitively and let a later duplicate win.
func exactMembers(data []byte, names ...string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	seen := make(map[string]bool, len(names))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		name, _ := tok.(string)
		known := false
		for _, n := range names {
			known = known || n == name
		}
		switch {
		case !known:
			return fmt.Errorf("%w: unknown member %q", ErrMalformed, name)
		case seen[name]:
			return fmt.Errorf("%w: member %q appears twice", ErrMalformed, name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: member %q: %v", ErrMalformed, name, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	for _, n := range names {
		if !seen[n] {
			return fmt.Errorf("%w: member %q is missing", ErrMalformed, n)
		}
	}
	return nil
}

// Publish replaces the file's head with next if it holds prev.
func (w *FileWitness) Publish(ctx context.Context, prev, next Head) error {
	if err := next.valid(); err != nil {
		return fmt.Errorf("audit: publish to witness: %v", err)
	}
	return w.within(ctx, func() error { return w.publish(prev, next) })
}

func (w *FileWitness) publish(prev, next Head) error {
	cur, err := w.read()
	if err != nil {
		return err
	}
	if !cur.Equal(prev) {
		return fmt.Errorf("%w: %s holds %s, the writer expected %s", ErrWitnessConflict, w.path, cur, prev)
	}
	data, err := json.Marshal(fileHead{Format: witnessFormat, Log: next.LogID, Seq: next.Seq, Hash: next.Hash, Time: formatTime(next.Time)})
	if err != nil {
		return fmt.Errorf("audit: encode witness: %w", err)
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(w.path), "."+filepath.Base(w.path)+".tmp-"+hex.EncodeToString(suffix[:]))
	if err := writeFileSync(tmp, append(data, '\n')); err != nil {
		return err
	}
	if err := os.Rename(tmp, w.path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("audit: replace witness: %w", err)
	}
	return syncDir(filepath.Dir(w.path))
}
