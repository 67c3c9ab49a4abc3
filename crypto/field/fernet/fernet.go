package fernet

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/keel-go/keel/crypto/field"
)

const (
	version   byte = 0x80
	tsSize         = 8
	ivSize         = aes.BlockSize
	macSize        = sha256.Size
	overhead       = 1 + tsSize + ivSize + macSize
	minLength      = overhead + aes.BlockSize
	// MaxClockSkew is how far in the future a token's timestamp may lie when
	// a TTL is checked, as in Python's cryptography.
	MaxClockSkew = 60 * time.Second
)

// ErrExpired is matched (together with field.ErrDecrypt) by the error for an
// authentic token older than the TTL.
var ErrExpired = errors.New("fernet: token expired")

type tokenError struct{ reason error }

func (e *tokenError) Error() string        { return "fernet: invalid token: " + e.reason.Error() }
func (e *tokenError) Is(target error) bool { return target == field.ErrDecrypt }
func (e *tokenError) Unwrap() error        { return e.reason }

func invalid(reason string) error { return &tokenError{reason: errors.New(reason)} }

// Key is a Fernet key: 16 bytes of HMAC-SHA256 signing key, then 16 bytes of
// AES-128 encryption key.
type Key struct {
	signing, encryption [16]byte
}

// GenerateKey returns a new random key (crypto/rand).
func GenerateKey() (*Key, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("fernet: reading random bytes: %w", err)
	}
	return keyFrom(b[:]), nil
}

func keyFrom(b []byte) *Key {
	k := &Key{}
	copy(k.signing[:], b[:16])
	copy(k.encryption[:], b[16:32])
	return k
}

// DecodeKey parses the base64url text form of a key, as
// cryptography.fernet.Fernet.generate_key() prints it (padded or not).
func DecodeKey(s string) (*Key, error) {
	b, err := decodeB64(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, errors.New("fernet: a key is 32 bytes in base64url")
	}
	return keyFrom(b), nil
}

// Encode returns the base64url text form of the key (padded, as Python's).
func (k *Key) Encode() string {
	b := make([]byte, 0, 32)
	b = append(append(b, k.signing[:]...), k.encryption[:]...)
	return base64.URLEncoding.EncodeToString(b)
}

// String returns "[REDACTED]"; use Encode for the key itself.
func (k *Key) String() string { return field.Redacted }

// GoString returns "[REDACTED]".
func (k *Key) GoString() string { return field.Redacted }

// Format prints "[REDACTED]" for every verb.
func (k *Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(field.Redacted)) }

// LogValue makes log/slog print "[REDACTED]".
func (k *Key) LogValue() slog.Value { return slog.StringValue(field.Redacted) }

// Encrypt returns a token for msg stamped with the current time.
func Encrypt(k *Key, msg []byte) (string, error) {
	return EncryptAtTime(k, msg, time.Now())
}

// EncryptAtTime returns a token for msg stamped with t (for tests and for
// re-encrypting a token while keeping its original time).
func EncryptAtTime(k *Key, msg []byte, t time.Time) (string, error) {
	var iv [ivSize]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return "", fmt.Errorf("fernet: reading random bytes: %w", err)
	}
	return encrypt(k, msg, t, iv[:]), nil
}

func encrypt(k *Key, msg []byte, t time.Time, iv []byte) string {
	pad := aes.BlockSize - len(msg)%aes.BlockSize
	n := len(msg) + pad
	tok := make([]byte, 1+tsSize+ivSize, overhead+n)
	tok[0] = version
	binary.BigEndian.PutUint64(tok[1:9], uint64(t.Unix()))
	copy(tok[9:], iv)
	body := append(append(tok[len(tok):], msg...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(k.encryption[:]) // 16-byte key: cannot fail
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body, body)
	tok = tok[:len(tok)+n]
	m := hmac.New(sha256.New, k.signing[:])
	m.Write(tok)
	tok = m.Sum(tok)
	return base64.URLEncoding.EncodeToString(tok)
}

// Decrypt verifies a token with the first of keys that authenticates it and
// returns the message. With ttl > 0 a token older than ttl fails with
// ErrExpired, and one stamped more than MaxClockSkew in the future fails
// too; ttl == 0 skips both time checks, like ttl=None in Python. Several
// keys make key rotation possible (Python's MultiFernet): list the newest
// first.
func Decrypt(token string, ttl time.Duration, keys ...*Key) ([]byte, error) {
	return DecryptAtTime(token, ttl, time.Now(), keys...)
}

// DecryptAtTime is Decrypt with the current time given.
func DecryptAtTime(token string, ttl time.Duration, now time.Time, keys ...*Key) ([]byte, error) {
	b, k, ts, err := verify(token, keys)
	if err != nil {
		return nil, err
	}
	if ttl > 0 {
		if now.Unix() > ts+int64(ttl/time.Second) {
			return nil, &tokenError{reason: ErrExpired}
		}
		if ts > now.Unix()+int64(MaxClockSkew/time.Second) {
			return nil, invalid("timestamp too far in the future")
		}
	}
	return decryptBody(b, k)
}

// Rotate decrypts a token with any of keys and encrypts its message again
// under keys[0], keeping its timestamp (as MultiFernet.rotate does).
func Rotate(token string, keys ...*Key) (string, error) {
	b, k, ts, err := verify(token, keys)
	if err != nil {
		return "", err
	}
	msg, err := decryptBody(b, k)
	if err != nil {
		return "", err
	}
	return EncryptAtTime(keys[0], msg, time.Unix(ts, 0))
}

// TimestampOf returns the time a token was made, after authenticating it.
func TimestampOf(token string, keys ...*Key) (time.Time, error) {
	_, _, ts, err := verify(token, keys)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(ts, 0), nil
}

// verify decodes a token and authenticates it with the first key whose HMAC
// matches (compared in constant time).
func verify(token string, keys []*Key) (b []byte, key *Key, ts int64, err error) {
	if len(keys) == 0 || keys[0] == nil {
		return nil, nil, 0, errors.New("fernet: no key given")
	}
	b, err = decodeB64(token)
	if err != nil {
		return nil, nil, 0, invalid("not base64url")
	}
	if len(b) < minLength || (len(b)-overhead)%aes.BlockSize != 0 {
		return nil, nil, 0, invalid("wrong length")
	}
	if b[0] != version {
		return nil, nil, 0, invalid("unknown version")
	}
	signed, mac := b[:len(b)-macSize], b[len(b)-macSize:]
	for _, k := range keys {
		if k == nil {
			continue
		}
		m := hmac.New(sha256.New, k.signing[:])
		m.Write(signed)
		if hmac.Equal(m.Sum(nil), mac) {
			return b, k, int64(binary.BigEndian.Uint64(b[1:9])), nil
		}
	}
	return nil, nil, 0, invalid("signature does not match any key")
}

// decryptBody decrypts an authenticated token and removes the PKCS #7
// padding. The HMAC was checked first, so padding errors cannot serve as an
// oracle; they are still reported as invalid tokens.
func decryptBody(b []byte, k *Key) ([]byte, error) {
	iv := b[1+tsSize : 1+tsSize+ivSize]
	ct := b[1+tsSize+ivSize : len(b)-macSize]
	pt := make([]byte, len(ct))
	block, _ := aes.NewCipher(k.encryption[:]) // 16-byte key: cannot fail
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, invalid("bad padding")
	}
	for _, c := range pt[len(pt)-pad:] {
		if int(c) != pad {
			return nil, invalid("bad padding")
		}
	}
	return pt[:len(pt)-pad], nil
}

// decodeB64 accepts base64url with padding (what Python writes) or without.
// CR and LF, which the decoder would skip, are refused.
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line breaks in base64")
	}
	if len(s)%4 == 0 {
		return base64.URLEncoding.Strict().DecodeString(s)
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}
