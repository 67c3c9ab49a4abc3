package field

import "encoding/binary"

// Ciphertext format, version 1 (docs/FORMATS.md "crypto/field ciphertext"):
//
//	offset  size  field
//	0       1     format: 0x01 (key ring value)
//	1       1     algorithm: 0x01 XChaCha20-Poly1305, 0x02 AES-256-GCM
//	2       4     key id, big-endian uint32, non-zero
//	6       n     nonce: 24 bytes (XChaCha20-Poly1305) or 12 (AES-256-GCM)
//	6+n     ...   AEAD ciphertext followed by the 16-byte tag
//
// The AEAD's additional data is the 6 header bytes followed by the caller's
// context, so the format, the algorithm, the key id and the context are all
// authenticated: changing any of them makes decryption fail.
const (
	formatRing byte = 0x01
	// formatEnvelopeLegacy is the first envelope format, read but no longer
	// written: its data key was wrapped with the caller's context as is, so a
	// LocalKEK's ring, asked by the application to Decrypt the wrapped key
	// under that context, returned the raw data key.
	formatEnvelopeLegacy byte = 0x02
	// formatEnvelope wraps the data key under a domain-separated context
	// (wrapContext), which no Ring.Decrypt of application data is given.
	formatEnvelope byte = 0x03
)

const (
	headerSize = 6
	tagSize    = 16
)

// header is the parsed fixed part of a key ring ciphertext.
type header struct {
	alg   Algorithm
	keyID uint32
}

func putHeader(dst []byte, alg Algorithm, keyID uint32) {
	dst[0] = formatRing
	dst[1] = byte(alg)
	binary.BigEndian.PutUint32(dst[2:6], keyID)
}

// parseHeader checks the fixed part and the minimum length of a key ring
// ciphertext. It never panics on any input.
func parseHeader(ct []byte) (header, error) {
	if len(ct) < headerSize || ct[0] != formatRing {
		return header{}, errMalformed
	}
	h := header{alg: Algorithm(ct[1]), keyID: binary.BigEndian.Uint32(ct[2:6])}
	if !h.alg.valid() || h.keyID == 0 || len(ct) < headerSize+h.alg.nonceSize()+tagSize {
		return header{}, errMalformed
	}
	return h, nil
}

// KeyID returns the id of the key a key ring ciphertext was encrypted under,
// without decrypting it. The id is not trusted until Decrypt succeeds.
func KeyID(ciphertext []byte) (uint32, error) {
	h, err := parseHeader(ciphertext)
	return h.keyID, err
}
