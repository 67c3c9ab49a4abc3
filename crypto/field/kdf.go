package field

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// DeriveKey derives a 32-byte sub-key for one purpose from a root key with
// HKDF-SHA256 (RFC 5869, no salt, info = purpose). Different purposes give
// independent keys, so one root key can serve several uses without any use
// weakening another. Purposes are fixed strings such as
// "keel.field.blind-index/v1 customers.email".
func DeriveKey(root Secret[[]byte], purpose string) (Secret[[]byte], error) {
	if n := len(root.Reveal()); n < KeySize {
		return Secret[[]byte]{}, fmt.Errorf("field: root key must be at least %d bytes, got %d", KeySize, n)
	}
	if purpose == "" {
		return Secret[[]byte]{}, fmt.Errorf("field: key derivation purpose must not be empty")
	}
	k, err := hkdf.Key(sha256.New, root.Reveal(), nil, purpose, KeySize)
	if err != nil {
		return Secret[[]byte]{}, fmt.Errorf("field: deriving key: %w", err)
	}
	return NewSecret(k), nil
}
