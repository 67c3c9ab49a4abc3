package field

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Algorithm is the AEAD a key is used with. Its numeric value is the
// algorithm byte of the ciphertext format (docs/FORMATS.md).
type Algorithm uint8

const (
	// XChaCha20Poly1305 is the default: 192-bit random nonces, so a key can
	// encrypt practically unlimited values (no 2^32-messages limit as with
	// 96-bit random nonces).
	XChaCha20Poly1305 Algorithm = 1
	// AES256GCM is AES-256 in Galois/Counter mode with 96-bit random nonces.
	// Use it where FIPS-approved algorithms are required. Random 96-bit
	// nonces limit a key to GCMMessageLimit (2^32) encryptions: NIST SP
	// 800-38D §8.3 requires the probability that two of them repeat a nonce
	// to stay below 2^-32, and a repeated nonce under GCM reveals the XOR of
	// two plaintexts and lets the authentication key be recovered, so that
	// values can be forged. A Ring counts the encryptions under each key
	// (Ring.Usage), reports a GCM key that reached half the limit
	// (KeyUsage.NearLimit, Config.NearLimit) and refuses to encrypt under
	// one that reached it (ErrKeyExhausted): rotate before then
	// (docs/KEY-ROTATION.md).
	AES256GCM Algorithm = 2
)

// GCMMessageLimit is the most values one AES-256-GCM key may encrypt with
// random 96-bit nonces (NIST SP 800-38D §8.3). XChaCha20-Poly1305's 192-bit
// nonces have no practical limit.
const GCMMessageLimit uint64 = 1 << 32

// messageLimit is the most encryptions under one key of the algorithm, 0
// for no limit.
func (a Algorithm) messageLimit() uint64 {
	if a == AES256GCM {
		return GCMMessageLimit
	}
	return 0
}

// KeySize is the length in bytes of every key: data keys, index keys and
// local key-encryption keys.
const KeySize = 32

func (a Algorithm) String() string {
	switch a {
	case XChaCha20Poly1305:
		return "xchacha20-poly1305"
	case AES256GCM:
		return "aes-256-gcm"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm is the inverse of Algorithm.String.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch s {
	case "xchacha20-poly1305":
		return XChaCha20Poly1305, nil
	case "aes-256-gcm":
		return AES256GCM, nil
	}
	return 0, fmt.Errorf("field: unknown algorithm %q (want xchacha20-poly1305 or aes-256-gcm)", s)
}

func (a Algorithm) valid() bool { return a == XChaCha20Poly1305 || a == AES256GCM }

// nonceSize is the random nonce length the algorithm uses.
func (a Algorithm) nonceSize() int {
	if a == AES256GCM {
		return 12
	}
	return chacha20poly1305.NonceSizeX
}

func (a Algorithm) newAEAD(key []byte) (cipher.AEAD, error) {
	switch a {
	case XChaCha20Poly1305:
		return chacha20poly1305.NewX(key)
	case AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	}
	return nil, fmt.Errorf("field: unknown algorithm %d", a)
}

// Key is one data-encryption key of a key ring.
type Key struct {
	// ID names the key inside ciphertexts. It must be non-zero and unique in
	// a ring. IDs are never reused: a retired key's ID stays retired.
	ID uint32
	// Algorithm is the AEAD the key is used with; zero means
	// XChaCha20Poly1305.
	Algorithm Algorithm
	// Material is the 32-byte key.
	Material Secret[[]byte]
	// Created records when the key was generated (informational).
	Created time.Time
}

// GenerateKey returns a new random key with the given id and algorithm
// (zero means XChaCha20Poly1305), read from crypto/rand.
func GenerateKey(id uint32, alg Algorithm) (Key, error) {
	if alg == 0 {
		alg = XChaCha20Poly1305
	}
	if !alg.valid() {
		return Key{}, fmt.Errorf("field: unknown algorithm %d", alg)
	}
	if id == 0 {
		return Key{}, fmt.Errorf("field: key ID must be non-zero")
	}
	m, err := randomBytes(KeySize)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: id, Algorithm: alg, Material: NewSecret(m), Created: time.Now().UTC().Truncate(time.Second)}, nil
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("field: reading random bytes: %w", err)
	}
	return b, nil
}
