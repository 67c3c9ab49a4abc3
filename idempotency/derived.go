package idempotency

import (
	"crypto/sha256"
	"encoding/base64"
)

// DerivedKey returns the idempotency key for one downstream call made while
// handling (scope, key): for example step "payment" inside POST /orders.
// A retry of the outer request derives the same key, so the downstream
// service (a payment provider that honours Idempotency-Key) deduplicates
// its side too; different steps, keys or scopes give unrelated keys.
//
// The result is 43 characters of unpadded base64url (a SHA-256 over the
// length-prefixed inputs), valid as a bare or quoted Idempotency-Key value,
// and reveals neither the scope nor the original key.
func DerivedKey(scope, key, step string) string {
	h := sha256.New()
	h.Write([]byte("keel-idempotency-derived-v1"))
	for _, part := range []string{scope, key, step} {
		var n [8]byte
		putLen(n[:], len(part))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
