package field

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
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

// ParseKeyset decodes a key ring file strictly: member names are
// case-sensitive and each appears once, unknown members are refused, and
// the key set must pass the checks of MarshalKeyset (no two keys with the
// same material, an index key that is no data key). Errors wrap ErrKeyset,
// name the problem and never quote key material.
func ParseKeyset(data []byte) (*Keyset, error) {
	if err := checkKeysetMembers(data); err != nil {
		return nil, err
	}
	var f keysetFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: not a key ring file (data after the JSON object)", ErrKeyset)
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
	idx := ks.IndexKey.Reveal()
	defer clear(idx)
	if n := len(idx); n != KeySize {
		return fmt.Errorf("%w: index key must be %d bytes, got %d", ErrKeyset, KeySize, n)
	}
	if ks.Primary == 0 {
		return fmt.Errorf("%w: primary key ID must be set", ErrKeyset)
	}
	if _, err := ks.Ring(); err != nil {
		return fmt.Errorf("%w: %v", ErrKeyset, err)
	}
	// Two ids for one key would make rotation a no-op and confuse retiring;
	// an index key equal to a data key would let the HMAC of blind indexes
	// and the AEAD share a key.
	materials := make([][]byte, len(ks.Keys))
	defer func() {
		for _, m := range materials {
			clear(m)
		}
	}()
	for i, k := range ks.Keys {
		materials[i] = k.Material.Reveal()
		if subtle.ConstantTimeCompare(materials[i], idx) == 1 {
			return fmt.Errorf("%w: index_key is the material of key %d; the blind-index key must differ from every data key", ErrKeyset, k.ID)
		}
		for j := range i {
			if subtle.ConstantTimeCompare(materials[i], materials[j]) == 1 {
				return fmt.Errorf("%w: keys %d and %d hold the same material; every key must be generated on its own", ErrKeyset, ks.Keys[j].ID, k.ID)
			}
		}
	}
	return nil
}

// keysetMembers are the member names of a key ring file's object and of each
// entry of its "keys" array, exactly as spelt.
var (
	keysetMembers = []string{"format", "primary", "keys", "index_key"}
	keyMembers    = []string{"id", "algorithm", "created", "material"}
)

// checkKeysetMembers walks the JSON tokens of a key ring file before it is
// decoded: encoding/json matches member names case-insensitively and lets a
// later duplicate override an earlier one ("PRIMARY" after "primary"), so
// names are checked here, exactly. It refuses unknown members, duplicates and
// case variants, naming the member and where it is.
func checkKeysetMembers(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%w: not a key ring file (not a JSON object)", ErrKeyset)
	}
	return walkMembers(dec, "the key ring file", keysetMembers, func(name string) error {
		if name != "keys" {
			return skipValue(dec, 0)
		}
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
		}
		if tok != json.Delim('[') {
			return skipRest(dec, tok, 0) // not an array: the decoder names the type error
		}
		for i := 0; dec.More(); i++ {
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
			}
			if tok != json.Delim('{') {
				return fmt.Errorf("%w: keys[%d] is not a JSON object", ErrKeyset, i)
			}
			if err := walkMembers(dec, fmt.Sprintf("keys[%d]", i), keyMembers, func(string) error { return skipValue(dec, 0) }); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
		}
		return nil
	})
}

// walkMembers reads the members of an object whose '{' has been read, up to
// and including its '}', calling value for each allowed member to consume
// its value.
func walkMembers(dec *json.Decoder, where string, allowed []string, value func(name string) error) error {
	seen := map[string]string{} // lower-cased name → name as spelt
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
		}
		name, _ := tok.(string)
		if prev, ok := seen[strings.ToLower(name)]; ok {
			if prev == name {
				return fmt.Errorf("%w: member %s appears twice in %s", ErrKeyset, quoteName(name), where)
			}
			return fmt.Errorf("%w: members %s and %s of %s differ only in case (names are case-sensitive)", ErrKeyset, quoteName(prev), quoteName(name), where)
		}
		seen[strings.ToLower(name)] = name
		if !slices.Contains(allowed, name) {
			return fmt.Errorf("%w: unknown member %s in %s (allowed, case-sensitive: %s)", ErrKeyset, quoteName(name), where, strings.Join(allowed, ", "))
		}
		if err := value(name); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	if err != nil {
		return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
	}
	return nil
}

// skipValue consumes one JSON value, refusing nesting deeper than the
// format has any use for.
func skipValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
	}
	return skipRest(dec, tok, depth)
}

// skipRest consumes the rest of a value whose first token is tok: nothing
// more for a scalar, the members or elements and the closing delimiter for
// an object or array.
func skipRest(dec *json.Decoder, tok json.Token, depth int) error {
	d, ok := tok.(json.Delim)
	if !ok || (d != '{' && d != '[') {
		return nil
	}
	if depth >= 8 {
		return fmt.Errorf("%w: not a key ring file (nested too deeply)", ErrKeyset)
	}
	for dec.More() {
		if d == '{' {
			if _, err := dec.Token(); err != nil { // member name
				return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
			}
		}
		if err := skipValue(dec, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: not a key ring file (%s)", ErrKeyset, jsonProblem(err))
	}
	return nil
}

// quoteName quotes a member name for an error, unless it is long enough to
// be key material (base64 of 32 bytes is 44 characters).
func quoteName(name string) string {
	if len(name) > 32 {
		return fmt.Sprintf("(a name of %d characters)", len(name))
	}
	return strconv.Quote(name)
}

// jsonProblem describes a decoding error without quoting the input: the
// messages of encoding/json can include a value, which here may be key
// material.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("member %s must be a JSON %s, not %s", quoteName(typ.Field), jsonKind(typ.Type.Kind()), typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: unexpected end"
	}
	return "invalid JSON"
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "number"
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
