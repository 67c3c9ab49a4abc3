package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// IndexWitness remembers, outside the repository, the newest index head a
// client has seen. The index is signed, so nobody without the signing key
// can forge one; but whoever can write to storage can put back an older
// signed index together with older backups, and nothing inside the
// repository can tell. A witness can: a Repository with Config.Witness
// reports an index whose Seq is below the witnessed one (rolled back), or
// equal with other content (forked), as an *IndexError.
type IndexWitness interface {
	// Load returns the newest head recorded for the repository; ok is
	// false when there is none.
	Load(ctx context.Context, repository string) (head IndexHead, ok bool, err error)
	// Store records head as the newest for its repository.
	Store(ctx context.Context, head IndexHead) error
}

// witness compares head with what Config.Witness has seen and records it
// when it is newer. A rolled-back or forked index is an *IndexError.
func (r *Repository) witness(ctx context.Context, head IndexHead) error {
	w := r.cfg.Witness
	if w == nil {
		return nil
	}
	seen, ok, err := w.Load(ctx, head.Repository)
	if err != nil {
		return fmt.Errorf("backup: index witness: %w", err)
	}
	switch {
	case ok && head.Seq < seen.Seq:
		return &IndexError{Reason: fmt.Sprintf("the index is at seq %d, but seq %d was seen before: it was rolled back (newer backups may have been removed with it)", head.Seq, seen.Seq), Remedy: RemedyRebuildIndex}
	case ok && head.Seq == seen.Seq && head.SHA256 != seen.SHA256:
		return &IndexError{Reason: fmt.Sprintf("the index at seq %d differs from the one seen before at that seq (forked: two writers without a shared Lock, or a replaced index)", head.Seq), Remedy: RemedyRebuildIndex}
	case ok && head.Seq == seen.Seq:
		return nil
	}
	if err := w.Store(ctx, head); err != nil {
		return fmt.Errorf("backup: index witness: %w", err)
	}
	return nil
}

// WitnessFileType is the "type" of a FileWitness file.
const WitnessFileType = "keel.backup.witness/v1"

// Bounds of a witness file.
const (
	maxWitnessFileSize = 1 << 20
	maxWitnessHeads    = 4096
)

// FileWitness is an IndexWitness in a local JSON file, one head per
// repository. Keep it where the repository's writers cannot reach it: on
// the operator's or the service's own disk, not beside the backups. It
// is written with write-to-temporary-and-rename (0600), so a crash leaves
// the old or the new file. Loads and stores are serialised within the
// process; two processes sharing one file may lose a store to each other,
// which only weakens the check (the witness then remembers an older
// head), never raises a false alarm.
type FileWitness struct {
	Path string
}

var fileWitnessMu sync.Mutex

type witnessFile struct {
	Type  string      `json:"type"`
	Heads []IndexHead `json:"heads"`
}

// Load implements IndexWitness.
func (w FileWitness) Load(_ context.Context, repository string) (IndexHead, bool, error) {
	fileWitnessMu.Lock()
	defer fileWitnessMu.Unlock()
	heads, err := w.read()
	if err != nil {
		return IndexHead{}, false, err
	}
	for _, h := range heads {
		if h.Repository == repository {
			return h, true, nil
		}
	}
	return IndexHead{}, false, nil
}

// Store implements IndexWitness.
func (w FileWitness) Store(_ context.Context, head IndexHead) error {
	fileWitnessMu.Lock()
	defer fileWitnessMu.Unlock()
	heads, err := w.read()
	if err != nil {
		return err
	}
	replaced := false
	for i := range heads {
		if heads[i].Repository == head.Repository {
			heads[i], replaced = head, true
		}
	}
	if !replaced {
		if len(heads) >= maxWitnessHeads {
			return fmt.Errorf("witness file %s already holds %d repositories", w.Path, maxWitnessHeads)
		}
		heads = append(heads, head)
	}
	data, err := json.MarshalIndent(witnessFile{Type: WitnessFileType, Heads: heads}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(w.Path, append(data, '\n'))
}

func (w FileWitness) read() ([]IndexHead, error) {
	if w.Path == "" {
		return nil, errors.New("FileWitness.Path is empty")
	}
	f, err := os.Open(w.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxWitnessFileSize+1))
	if err != nil {
		return nil, err
	}
	heads, err := decodeWitnessFile(data)
	if err != nil {
		return nil, fmt.Errorf("witness file %s: %w", w.Path, err)
	}
	return heads, nil
}

// decodeWitnessFile strictly decodes a witness file: it is a local file,
// but a damaged one must fail clearly, not pass as "nothing seen".
func decodeWitnessFile(data []byte) ([]IndexHead, error) {
	if len(data) > maxWitnessFileSize {
		return nil, &MalformedError{Reason: fmt.Sprintf("larger than %d bytes", maxWitnessFileSize)}
	}
	var wf witnessFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wf); err != nil {
		return nil, &MalformedError{Reason: err.Error()}
	}
	if dec.More() {
		return nil, &MalformedError{Reason: "trailing data"}
	}
	if wf.Type != WitnessFileType {
		return nil, &MalformedError{Field: "type", Reason: fmt.Sprintf("want %q, got %q", WitnessFileType, wf.Type)}
	}
	if len(wf.Heads) > maxWitnessHeads {
		return nil, &MalformedError{Field: "heads", Reason: fmt.Sprintf("more than %d", maxWitnessHeads)}
	}
	seen := map[string]bool{}
	for i, h := range wf.Heads {
		field := fmt.Sprintf("heads[%d].", i)
		switch {
		case !repositoryIDPattern.MatchString(h.Repository) || seen[h.Repository]:
			return nil, &MalformedError{Field: field + "repository", Reason: fmt.Sprintf("%q is not a repository id, or is listed twice", h.Repository)}
		case h.Seq < 1 || h.Seq > maxSeq:
			return nil, &MalformedError{Field: field + "seq", Reason: "out of range"}
		case !hexSHA256.MatchString(h.SHA256):
			return nil, &MalformedError{Field: field + "sha256", Reason: "must be 64 lowercase hex digits"}
		}
		seen[h.Repository] = true
	}
	return wf.Heads, nil
}

// writeFileAtomic writes data to path through a synced temporary file in
// the same directory and a rename.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
