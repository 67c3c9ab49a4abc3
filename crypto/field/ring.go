package field

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"slices"
)

// Config configures a Ring.
type Config struct {
	// Keys are the data keys the ring can decrypt with. At least one is
	// required; IDs must be non-zero and unique, material 32 bytes.
	Keys []Key
	// Primary is the ID of the key new values are encrypted under. Zero means
	// the key with the highest ID.
	Primary uint32
}

// Ring encrypts under its primary key and decrypts under any of its keys.
// It is immutable and safe for concurrent use; to rotate, build a new Ring
// from the new key set and swap it in (for example with atomic.Pointer).
type Ring struct {
	keys    []ringKey // sorted by id
	primary *ringKey
}

type ringKey struct {
	id   uint32
	alg  Algorithm
	aead cipher.AEAD
}

// New validates cfg and returns a Ring. Errors name the offending field.
func New(cfg Config) (*Ring, error) {
	if len(cfg.Keys) == 0 {
		return nil, fmt.Errorf("field: Config.Keys must hold at least one key")
	}
	r := &Ring{keys: make([]ringKey, 0, len(cfg.Keys))}
	for i, k := range cfg.Keys {
		alg := k.Algorithm
		if alg == 0 {
			alg = XChaCha20Poly1305
		}
		if k.ID == 0 {
			return nil, fmt.Errorf("field: Config.Keys[%d].ID must be non-zero", i)
		}
		if !alg.valid() {
			return nil, fmt.Errorf("field: Config.Keys[%d].Algorithm %d is unknown", i, k.Algorithm)
		}
		if n := len(k.Material.Reveal()); n != KeySize {
			return nil, fmt.Errorf("field: Config.Keys[%d].Material must be %d bytes, got %d", i, KeySize, n)
		}
		aead, err := alg.newAEAD(k.Material.Reveal())
		if err != nil {
			return nil, fmt.Errorf("field: Config.Keys[%d]: %w", i, err)
		}
		r.keys = append(r.keys, ringKey{id: k.ID, alg: alg, aead: aead})
	}
	slices.SortFunc(r.keys, func(a, b ringKey) int { return compareIDs(a.id, b.id) })
	for i := 1; i < len(r.keys); i++ {
		if r.keys[i].id == r.keys[i-1].id {
			return nil, fmt.Errorf("field: Config.Keys holds key ID %d twice", r.keys[i].id)
		}
	}
	if cfg.Primary == 0 {
		r.primary = &r.keys[len(r.keys)-1]
	} else if r.primary = r.find(cfg.Primary); r.primary == nil {
		return nil, fmt.Errorf("field: Config.Primary %d is not the ID of a key in Config.Keys", cfg.Primary)
	}
	return r, nil
}

func compareIDs(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *Ring) find(id uint32) *ringKey {
	for i := range r.keys {
		if r.keys[i].id == id {
			return &r.keys[i]
		}
	}
	return nil
}

// PrimaryID returns the ID of the key new values are encrypted under.
func (r *Ring) PrimaryID() uint32 { return r.primary.id }

// KeyIDs returns the IDs of every key the ring can decrypt with, ascending.
func (r *Ring) KeyIDs() []uint32 {
	ids := make([]uint32, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// Encrypt encrypts plaintext under the primary key with a fresh random nonce,
// binding it to context: Decrypt must be given the same context. Use
// Context to build one from the table, column and row id, so that a value
// copied to another row or column does not decrypt. The result is in the
// binary format of docs/FORMATS.md; EncodeText turns it into text.
//
// Encrypt makes one allocation (the result).
func (r *Ring) Encrypt(plaintext, context []byte) ([]byte, error) {
	k := r.primary
	ns := k.alg.nonceSize()
	total := headerSize + ns + len(plaintext) + tagSize
	// The additional data (header ‖ context) is built in scratch space after
	// the result, in the same allocation; the result's capacity is capped so
	// that Seal never writes there and callers never see it.
	buf := make([]byte, total+headerSize+len(context))
	putHeader(buf, k.alg, k.id)
	_, _ = rand.Read(buf[headerSize : headerSize+ns]) // crypto/rand.Read never fails (Go ≥ 1.24)
	aad := buf[total:]
	copy(aad, buf[:headerSize])
	copy(aad[headerSize:], context)
	out := k.aead.Seal(buf[:headerSize+ns:total], buf[headerSize:headerSize+ns], plaintext, aad)
	return out, nil
}

// Decrypt authenticates and decrypts a ciphertext made by Encrypt with the
// same context. Anything malformed, truncated, tampered with, made under
// another context, or under a key the ring does not hold returns an error
// matching ErrDecrypt (and also ErrUnknownKey for a missing key id).
func (r *Ring) Decrypt(ciphertext, context []byte) ([]byte, error) {
	h, err := parseHeader(ciphertext)
	if err != nil {
		return nil, err
	}
	k := r.find(h.keyID)
	if k == nil {
		return nil, &decryptError{also: fmt.Errorf("%w: %d", ErrUnknownKey, h.keyID)}
	}
	if k.alg != h.alg {
		return nil, errMalformed
	}
	ns := k.alg.nonceSize()
	body := ciphertext[headerSize+ns:]
	n := len(body) - tagSize
	buf := make([]byte, n+headerSize+len(context))
	aad := buf[n:]
	copy(aad, ciphertext[:headerSize])
	copy(aad[headerSize:], context)
	pt, err := k.aead.Open(buf[:0:n], ciphertext[headerSize:headerSize+ns], body, aad)
	if err != nil {
		return nil, errMalformed
	}
	return pt, nil
}
