package field

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Keyset is the content of a key ring file: the data keys, which one is
// primary, and the root key of blind indexes. `keel keys generate` and
// `keel keys rotate` write it; applications read it with ReadKeysetFile and
// build a Ring with Keyset.Ring. The file format is specified in
// docs/FORMATS.md ("key ring file").
//
// A Keyset is a plain value: it is not safe for concurrent mutation.
type Keyset struct {
	// Primary is the ID of the key new values are encrypted under.
	Primary uint32
	// Keys are the data keys, primary and older ones kept for decryption.
	Keys []Key
	// IndexKey is the 32-byte root key of blind indexes (see BlindIndex). It
	// never rotates with the data keys: changing it means rebuilding every
	// index column.
	IndexKey Secret[[]byte]
}

const keysetFormat = "keel.field.keyset/v1"

// GenerateKeyset returns a key set with one new primary key (ID 1) of the
// given algorithm (zero means XChaCha20Poly1305) and a new index key.
func GenerateKeyset(alg Algorithm) (*Keyset, error) {
	k, err := GenerateKey(1, alg)
	if err != nil {
		return nil, err
	}
	idx, err := randomBytes(KeySize)
	if err != nil {
		return nil, err
	}
	return &Keyset{Primary: 1, Keys: []Key{k}, IndexKey: NewSecret(idx)}, nil
}

// Rotate adds a new key with the next unused ID (one more than the highest)
// and, if promote is true, makes it primary. Adding a key without promoting
// it is the first step of a rotation without downtime: every instance learns
// to decrypt with the key before any instance encrypts with it
// (docs/KEY-ROTATION.md).
func (ks *Keyset) Rotate(alg Algorithm, promote bool) (Key, error) {
	var next uint32 = 1
	for _, k := range ks.Keys {
		if k.ID >= next {
			next = k.ID + 1
		}
	}
	if next == 0 {
		return Key{}, fmt.Errorf("%w: key IDs exhausted", ErrKeyset)
	}
	k, err := GenerateKey(next, alg)
	if err != nil {
		return Key{}, err
	}
	ks.Keys = append(ks.Keys, k)
	if promote {
		ks.Primary = k.ID
	}
	return k, nil
}

// Promote makes the key with the given ID primary.
func (ks *Keyset) Promote(id uint32) error {
	if !slices.ContainsFunc(ks.Keys, func(k Key) bool { return k.ID == id }) {
		return fmt.Errorf("%w: no key with ID %d", ErrKeyset, id)
	}
	ks.Primary = id
	return nil
}

// Retire removes a key that is no longer primary. Values still encrypted
// under it become undecryptable, so retire a key only after a re-key job has
// rewritten every value (Ring.NeedsReencrypt reports none left).
func (ks *Keyset) Retire(id uint32) error {
	if id == ks.Primary {
		return fmt.Errorf("%w: key %d is primary; promote another key first", ErrKeyset, id)
	}
	i := slices.IndexFunc(ks.Keys, func(k Key) bool { return k.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: no key with ID %d", ErrKeyset, id)
	}
	ks.Keys = slices.Delete(ks.Keys, i, i+1)
	return nil
}

// Ring builds the Ring of the key set.
func (ks *Keyset) Ring() (*Ring, error) {
	return New(Config{Keys: ks.Keys, Primary: ks.Primary})
}

// keysetFile is the JSON shape of a key ring file.
type keysetFile struct {
	Format   string        `json:"format"`
	Primary  uint32        `json:"primary"`
	Keys     []keysetEntry `json:"keys"`
	IndexKey string        `json:"index_key"`
}

type keysetEntry struct {
	ID        uint32    `json:"id"`
	Algorithm string    `json:"algorithm"`
	Created   time.Time `json:"created"`
	Material  string    `json:"material"`
}

// MarshalKeyset encodes ks in the key ring file format. The result holds key
// material in the clear: write it only to a file of mode 0600.
func MarshalKeyset(ks *Keyset) ([]byte, error) {
	if err := ks.validate(); err != nil {
		return nil, err
	}
	f := keysetFile{Format: keysetFormat, Primary: ks.Primary, IndexKey: base64.StdEncoding.EncodeToString(ks.IndexKey.Reveal())}
	for _, k := range ks.Keys {
		alg := k.Algorithm
		if alg == 0 {
			alg = XChaCha20Poly1305
		}
		f.Keys = append(f.Keys, keysetEntry{ID: k.ID, Algorithm: alg.String(), Created: k.Created, Material: base64.StdEncoding.EncodeToString(k.Material.Reveal())})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("field: encoding key set: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseKeyset decodes a key ring file. Errors wrap ErrKeyset and never quote
// key material.
func ParseKeyset(data []byte) (*Keyset, error) {
	var f keysetFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: not a key ring file (invalid JSON)", ErrKeyset)
	}
	if f.Format != keysetFormat {
		return nil, fmt.Errorf("%w: format is %q, want %q", ErrKeyset, f.Format, keysetFormat)
	}
	ks := &Keyset{Primary: f.Primary}
	idx, err := base64.StdEncoding.DecodeString(f.IndexKey)
	if err != nil {
		return nil, fmt.Errorf("%w: index_key is not base64", ErrKeyset)
	}
	ks.IndexKey = NewSecret(idx)
	for i, e := range f.Keys {
		alg, err := ParseAlgorithm(e.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("%w: keys[%d]: %v", ErrKeyset, i, err)
		}
		m, err := base64.StdEncoding.DecodeString(e.Material)
		if err != nil {
			return nil, fmt.Errorf("%w: keys[%d].material is not base64", ErrKeyset, i)
		}
		ks.Keys = append(ks.Keys, Key{ID: e.ID, Algorithm: alg, Created: e.Created, Material: NewSecret(m)})
	}
	if err := ks.validate(); err != nil {
		return nil, err
	}
	return ks, nil
}

func (ks *Keyset) validate() error {
	if n := len(ks.IndexKey.Reveal()); n != KeySize {
		return fmt.Errorf("%w: index key must be %d bytes, got %d", ErrKeyset, KeySize, n)
	}
	if ks.Primary == 0 {
		return fmt.Errorf("%w: primary key ID must be set", ErrKeyset)
	}
	if _, err := ks.Ring(); err != nil {
		return fmt.Errorf("%w: %v", ErrKeyset, err)
	}
	return nil
}

// ReadKeysetFile reads a key ring file. It refuses a file that group or
// others may read or write (as ssh refuses such a private key), because a
// key ring readable by everyone protects nothing.
func ReadKeysetFile(path string) (*Keyset, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("field: key ring file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; it must be accessible by its owner only (chmod 600)", ErrKeyset, path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("field: key ring file: %w", err)
	}
	ks, err := ParseKeyset(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return ks, nil
}

// WriteKeysetFile writes ks to path with mode 0600, atomically: to a
// temporary file in the same directory, synced, renamed over path, and the
// directory synced. A crash leaves either the old file or the new one.
func WriteKeysetFile(path string, ks *Keyset) error {
	data, err := MarshalKeyset(ks)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("field: writing key ring file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("field: writing key ring file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("field: writing key ring file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("field: syncing key ring file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("field: writing key ring file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("field: replacing key ring file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("field: syncing key ring directory: %w", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("field: syncing key ring directory: %w", err)
	}
	return nil
}
