package field

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// KEK is a key-encryption key: it wraps and unwraps data keys. LocalKEK
// implements it with a Ring; a KMS (AWS KMS, Google Cloud KMS, Vault transit)
// implements it with two API calls. aad must be bound to the wrapped key (KMS
// "encryption context"). Envelope passes the caller's context prefixed with
// WrapContextPrefix, never the context alone, so that a wrapped data key
// cannot be opened as if it were application data encrypted under the same
// key and context.
type KEK interface {
	WrapKey(ctx context.Context, dataKey, aad []byte) ([]byte, error)
	UnwrapKey(ctx context.Context, wrapped, aad []byte) ([]byte, error)
}

// LocalKEK wraps data keys with a Ring held in the process, so the
// key-encryption key rotates like any ring key.
type LocalKEK struct{ ring *Ring }

// NewLocalKEK returns a KEK that wraps data keys with ring.
func NewLocalKEK(ring *Ring) (*LocalKEK, error) {
	if ring == nil {
		return nil, errors.New("field: NewLocalKEK: ring must not be nil")
	}
	return &LocalKEK{ring: ring}, nil
}

// WrapKey encrypts dataKey under the ring's primary key, bound to aad.
func (l *LocalKEK) WrapKey(_ context.Context, dataKey, aad []byte) ([]byte, error) {
	return l.ring.Encrypt(dataKey, aad)
}

// UnwrapKey decrypts a wrapped data key; errors match ErrDecrypt.
func (l *LocalKEK) UnwrapKey(_ context.Context, wrapped, aad []byte) ([]byte, error) {
	return l.ring.Decrypt(wrapped, aad)
}

// Envelope encrypts each value under a fresh random data key
// (XChaCha20-Poly1305) and stores the data key wrapped by a KEK inside the
// ciphertext. Rotating or replacing the KEK never touches the bulk data: a
// re-key job rewraps only the few bytes of the data key. It is safe for
// concurrent use if its KEK is.
//
// Envelope format (docs/FORMATS.md):
//
//	0     1  format 0x03 (envelope; 0x02 is the legacy envelope)
//	1     1  algorithm of the data: 0x01 XChaCha20-Poly1305
//	2     2  length W of the wrapped key, big-endian uint16
//	4     W  wrapped data key (opaque, produced by the KEK with
//	         aad = WrapContextPrefix ‖ context; legacy 0x02: aad = context)
//	4+W   24 nonce
//	28+W  .. ciphertext ‖ 16-byte tag; additional data = bytes [0, 2) ‖ context
//
// Decrypt reads both formats; Encrypt writes 0x03; Rewrap turns a legacy
// value into a 0x03 value under a fresh data key (IsLegacyEnvelope finds
// them).
type Envelope struct{ kek KEK }

// WrapContextPrefix starts the additional data under which Envelope has its
// KEK wrap a data key: the KEK is given WrapContextPrefix ‖ context, where
// the data itself is bound to context. A Ring used as a LocalKEK may thus
// also encrypt application values under the same contexts: Ring.Decrypt of
// a wrapped key under an application context fails. (It holds for every
// context that does not itself begin with these 33 bytes; Context builds
// one only for a first part of exactly 36 bytes that begins with
// "keel.field.envelope/v2 data-key" and a NUL byte.)
const WrapContextPrefix = "$keel.field.envelope/v2 data-key\x00"

// wrapContext is the KEK's additional data for a data key of format.
func wrapContext(format byte, context []byte) []byte {
	if format == formatEnvelopeLegacy {
		return context
	}
	aad := make([]byte, 0, len(WrapContextPrefix)+len(context))
	return append(append(aad, WrapContextPrefix...), context...)
}

// IsLegacyEnvelope reports whether ciphertext is a legacy envelope value
// (format 0x02), whose data key was wrapped under the caller's context as is.
// A re-key job rewrites such values with Envelope.Rewrap.
func IsLegacyEnvelope(ciphertext []byte) bool {
	return len(ciphertext) > 0 && ciphertext[0] == formatEnvelopeLegacy
}

// NewEnvelope returns an Envelope that wraps its data keys with kek.
func NewEnvelope(kek KEK) (*Envelope, error) {
	if kek == nil {
		return nil, errors.New("field: NewEnvelope: kek must not be nil")
	}
	return &Envelope{kek: kek}, nil
}

const envelopeFixed = 4

// Encrypt encrypts plaintext under a new data key bound to context.
func (e *Envelope) Encrypt(ctx context.Context, plaintext, context []byte) ([]byte, error) {
	dek, err := randomBytes(KeySize)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	return e.seal(ctx, dek, plaintext, context)
}

// seal encrypts plaintext under dek in the current format.
func (e *Envelope) seal(ctx context.Context, dek, plaintext, context []byte) ([]byte, error) {
	wrapped, err := e.wrap(ctx, dek, wrapContext(formatEnvelope, context))
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(dek)
	if err != nil {
		return nil, err
	}
	hdr := envelopeFixed + len(wrapped)
	ns := chacha20poly1305.NonceSizeX
	out := make([]byte, hdr+ns, hdr+ns+len(plaintext)+tagSize)
	out[0], out[1] = formatEnvelope, byte(XChaCha20Poly1305)
	binary.BigEndian.PutUint16(out[2:4], uint16(len(wrapped)))
	copy(out[envelopeFixed:], wrapped)
	_, _ = rand.Read(out[hdr:])
	return aead.Seal(out, out[hdr:hdr+ns], plaintext, envelopeAAD(out, context)), nil
}

func (e *Envelope) wrap(ctx context.Context, dek, aad []byte) ([]byte, error) {
	wrapped, err := e.kek.WrapKey(ctx, dek, aad)
	if err != nil {
		return nil, fmt.Errorf("field: wrapping data key: %w", err)
	}
	if len(wrapped) == 0 || len(wrapped) > 0xFFFF {
		return nil, fmt.Errorf("field: wrapped data key is %d bytes, want 1 to 65535", len(wrapped))
	}
	return wrapped, nil
}

// envelopeAAD is the data's additional data: the format and algorithm bytes
// and the context. The wrapped key is not part of it: the KEK authenticates
// the wrapped key itself (bound to the wrap context), and a substituted
// wrapped key yields another data key, under which the data fails to open.
// Leaving it out is what lets Rewrap replace it without touching the data.
func envelopeAAD(ct, context []byte) []byte {
	aad := make([]byte, 0, 2+len(context))
	aad = append(aad, ct[:2]...)
	return append(aad, context...)
}

// Decrypt unwraps the data key with the KEK and decrypts. Malformed or
// tampered input returns an error matching ErrDecrypt; a KEK failure that is
// not a decryption failure (a KMS outage) is returned wrapped as is, so that
// callers can retry it.
func (e *Envelope) Decrypt(ctx context.Context, ciphertext, context []byte) ([]byte, error) {
	wrapped, nonce, body, err := parseEnvelope(ciphertext)
	if err != nil {
		return nil, err
	}
	dek, err := e.unwrap(ctx, wrapped, wrapContext(ciphertext[0], context))
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	aead, err := chacha20poly1305.NewX(dek)
	if err != nil {
		return nil, errMalformed
	}
	pt, err := aead.Open(nil, nonce, body, envelopeAAD(ciphertext, context))
	if err != nil {
		return nil, errMalformed
	}
	return pt, nil
}

func (e *Envelope) unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	dek, err := e.kek.UnwrapKey(ctx, wrapped, aad)
	if err != nil {
		if errors.Is(err, ErrDecrypt) {
			return nil, err
		}
		return nil, fmt.Errorf("field: unwrapping data key: %w", err)
	}
	if len(dek) != KeySize {
		clear(dek)
		return nil, errMalformed
	}
	return dek, nil
}

// Rewrap unwraps the data key of ciphertext and wraps it again with the KEK
// as it is now (after a KEK rotation), leaving the encrypted data as it is.
// The data is authenticated first, so a re-key job also finds corrupt values.
//
// A legacy value (format 0x02, IsLegacyEnvelope) is instead encrypted again
// under a fresh data key in the current format: its data key was wrapped
// under the bare context, so it may have been exposed to anyone who could
// have the KEK's ring decrypt under that context, and it is not reused.
func (e *Envelope) Rewrap(ctx context.Context, ciphertext, context []byte) ([]byte, error) {
	pt, err := e.Decrypt(ctx, ciphertext, context)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	if ciphertext[0] == formatEnvelopeLegacy {
		return e.Encrypt(ctx, pt, context)
	}
	wrapped, _, _, _ := parseEnvelope(ciphertext)
	dek, err := e.unwrap(ctx, wrapped, wrapContext(ciphertext[0], context))
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	rewrapped, err := e.wrap(ctx, dek, wrapContext(ciphertext[0], context))
	if err != nil {
		return nil, err
	}
	tail := ciphertext[envelopeFixed+len(wrapped):] // nonce ‖ ciphertext ‖ tag
	out := make([]byte, 0, envelopeFixed+len(rewrapped)+len(tail))
	out = append(out, ciphertext[0], ciphertext[1], 0, 0)
	binary.BigEndian.PutUint16(out[2:4], uint16(len(rewrapped)))
	out = append(out, rewrapped...)
	return append(out, tail...), nil
}

// parseEnvelope splits an envelope ciphertext; it never panics.
func parseEnvelope(ct []byte) (wrapped, nonce, body []byte, err error) {
	if len(ct) < envelopeFixed || (ct[0] != formatEnvelope && ct[0] != formatEnvelopeLegacy) || Algorithm(ct[1]) != XChaCha20Poly1305 {
		return nil, nil, nil, errMalformed
	}
	w := int(binary.BigEndian.Uint16(ct[2:4]))
	ns := chacha20poly1305.NonceSizeX
	if w == 0 || len(ct) < envelopeFixed+w+ns+tagSize {
		return nil, nil, nil, errMalformed
	}
	wrapped = ct[envelopeFixed : envelopeFixed+w]
	nonce = ct[envelopeFixed+w : envelopeFixed+w+ns]
	return wrapped, nonce, ct[envelopeFixed+w+ns:], nil
}
