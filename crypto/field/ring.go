package field

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

// Config configures a Ring.
type Config struct {
	// Keys are the data keys the ring can decrypt with. At least one is
	// required; IDs must be non-zero and unique, material 32 bytes.
	Keys []Key
	// Primary is the ID of the key new values are encrypted under. Zero means
	// the key with the highest ID.
	Primary uint32
	// Encryptions are the counts of values already encrypted under keys, by
	// key ID (for example the sums of Ring.Usage over every instance, kept
	// by the application): the Ring counts on from there. Each ID must be
	// in Keys. A Ring only sees its own encryptions, so without this the
	// counts of a fleet, or across restarts, are per process. A count at or
	// above a key's limit (any value up to 2^64-1) makes it exhausted: it
	// still decrypts, and it refuses to encrypt. Counts never wrap.
	Encryptions map[uint32]uint64
	// NearLimit, if set, is called once per key when the encryptions
	// counted under a key with a message limit (AES-256-GCM) reach half of
	// it, so that the key is rotated in time. It runs on the goroutine of
	// the Encrypt that crossed the mark and must not block.
	NearLimit func(KeyUsage)
}

// KeyUsage is how many values a key has encrypted, as counted by a Ring
// (and the Rings a RingFile reloaded into) from Config.Encryptions.
type KeyUsage struct {
	ID        uint32
	Algorithm Algorithm
	// Encryptions counted under the key.
	Encryptions uint64
	// Limit is the most encryptions the algorithm allows under one key
	// (GCMMessageLimit for AES-256-GCM), 0 for no limit.
	Limit uint64
}

// NearLimit reports whether the key has a limit and has reached half of it:
// time to rotate.
func (u KeyUsage) NearLimit() bool { return u.Limit != 0 && u.Encryptions >= u.Limit/2 }

// Ring encrypts under its primary key and decrypts under any of its keys.
// It is immutable and safe for concurrent use; to rotate, build a new Ring
// from the new key set and swap it in (for example with atomic.Pointer).
type Ring struct {
	keys      []ringKey // sorted by id
	primary   *ringKey
	nearLimit func(KeyUsage)
}

type ringKey struct {
	id    uint32
	alg   Algorithm
	aead  cipher.AEAD
	usage *keyCount // shared with the Rings a RingFile reloads into
}

// keyCount counts the encryptions under one key.
type keyCount struct {
	n      atomic.Uint64
	warned atomic.Bool
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
		material := k.Material.Reveal() // a copy, cleared once the AEAD has its own
		if n := len(material); n != KeySize {
			return nil, fmt.Errorf("field: Config.Keys[%d].Material must be %d bytes, got %d", i, KeySize, n)
		}
		aead, err := alg.newAEAD(material)
		clear(material)
		if err != nil {
			return nil, fmt.Errorf("field: Config.Keys[%d]: %w", i, err)
		}
		r.keys = append(r.keys, ringKey{id: k.ID, alg: alg, aead: aead, usage: &keyCount{}})
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
	for id, n := range cfg.Encryptions {
		k := r.find(id)
		if k == nil {
			return nil, fmt.Errorf("field: Config.Encryptions names key ID %d, which is not in Config.Keys", id)
		}
		k.usage.n.Store(n)
	}
	r.nearLimit = cfg.NearLimit
	return r, nil
}

// Usage reports, for every key, the encryptions counted under it and its
// algorithm's limit, ascending by ID. KeyUsage.NearLimit tells which keys to
// rotate.
func (r *Ring) Usage() []KeyUsage {
	out := make([]KeyUsage, len(r.keys))
	for i := range r.keys {
		out[i] = r.keys[i].usageReport()
	}
	return out
}

func (k *ringKey) usageReport() KeyUsage {
	return KeyUsage{ID: k.id, Algorithm: k.alg, Encryptions: k.usage.n.Load(), Limit: k.alg.messageLimit()}
}

// adoptUsage makes r count on from old's counts for the keys both hold
// (same ID and algorithm), and report to old's NearLimit when r has none.
// r must not be in use yet.
func (r *Ring) adoptUsage(old *Ring) {
	if old == nil {
		return
	}
	for i := range r.keys {
		if k := old.find(r.keys[i].id); k != nil && k.alg == r.keys[i].alg {
			r.keys[i].usage = k.usage
		}
	}
	if r.nearLimit == nil {
		r.nearLimit = old.nearLimit
	}
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
// Encrypt makes one allocation (the result). Under an AES-256-GCM primary
// key that has encrypted GCMMessageLimit values it returns ErrKeyExhausted.
func (r *Ring) Encrypt(plaintext, context []byte) ([]byte, error) {
	k := r.primary
	if err := r.count(k); err != nil {
		return nil, err
	}
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

// count records one encryption under k, refusing it at the key's limit
// (a refused encryption is not counted) and reporting the key once it
// reaches half of it. The count never wraps: without a limit it stops at
// 2^64-1.
func (r *Ring) count(k *ringKey) error {
	limit := k.alg.messageLimit()
	var n uint64
	for {
		n = k.usage.n.Load()
		if limit != 0 && n >= limit {
			return fmt.Errorf("%w (key %d, %s, limit %d)", ErrKeyExhausted, k.id, k.alg, limit)
		}
		if n == math.MaxUint64 || k.usage.n.CompareAndSwap(n, n+1) {
			break
		}
	}
	if limit == 0 {
		return nil
	}
	if n+1 >= limit/2 && r.nearLimit != nil && k.usage.warned.CompareAndSwap(false, true) {
		r.nearLimit(k.usageReport())
	}
	return nil
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
