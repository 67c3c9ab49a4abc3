package field

import (
	"encoding/base64"
	"strings"
)

// textEncoding rejects non-canonical trailing bits, so every ciphertext has
// exactly one text form.
var textEncoding = base64.RawURLEncoding.Strict()

// EncodeText returns the text form of a ciphertext, for TEXT/VARCHAR columns,
// JSON and URLs: unpadded base64url (RFC 4648 §5) of the binary format.
func EncodeText(ciphertext []byte) string { return base64.RawURLEncoding.EncodeToString(ciphertext) }

// DecodeText is the inverse of EncodeText; malformed text returns an error
// matching ErrDecrypt.
func DecodeText(s string) ([]byte, error) {
	// The decoder skips CR and LF; the text form has none.
	if strings.ContainsAny(s, "\r\n") {
		return nil, errMalformed
	}
	b, err := textEncoding.DecodeString(s)
	if err != nil {
		return nil, errMalformed
	}
	return b, nil
}

// EncryptString encrypts s and returns the text form.
func (r *Ring) EncryptString(s string, context []byte) (string, error) {
	ct, err := r.Encrypt([]byte(s), context)
	if err != nil {
		return "", err
	}
	return EncodeText(ct), nil
}

// DecryptString decrypts the text form made by EncryptString.
func (r *Ring) DecryptString(text string, context []byte) (string, error) {
	ct, err := DecodeText(text)
	if err != nil {
		return "", err
	}
	pt, err := r.Decrypt(ct, context)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}
