package password

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// LegacyPBKDF2Iterations is the iteration count of the older Python system's
// PBKDF2-HMAC-SHA256 hashes.
const LegacyPBKDF2Iterations = 480_000

// FromPBKDF2Columns converts a PBKDF2-HMAC-SHA256 hash stored in two columns
// — the derived key and the salt, each base64 (standard or URL-safe alphabet,
// padded or not), as Python's hashlib.pbkdf2_hmac or cryptography's
// PBKDF2HMAC produce them — into the single PHC string that Verify reads:
//
//	$pbkdf2-sha256$i=480000,l=32$<salt, unpadded base64>$<key, unpadded base64>
//
// Migrate by storing this string in the password column; the next login
// verifies it and, through VerifyAndUpgrade, replaces it with argon2id.
func FromPBKDF2Columns(keyB64, saltB64 string, iterations int) (string, error) {
	if iterations < 1 || iterations > maxPBKDF2Iter {
		return "", malformed("pbkdf2 iterations %d out of range [1,%d]", iterations, maxPBKDF2Iter)
	}
	key, err := decodeAnyBase64(keyB64)
	if err != nil || len(key) < 16 || len(key) > maxHashLength {
		return "", malformed("pbkdf2 key column is not base64 of 16 to %d bytes", maxHashLength)
	}
	salt, err := decodeAnyBase64(saltB64)
	if err != nil || len(salt) < 1 || len(salt) > maxSaltLength {
		return "", malformed("pbkdf2 salt column is not base64 of 1 to %d bytes", maxSaltLength)
	}
	return fmt.Sprintf("$pbkdf2-sha256$i=%d,l=%d$%s$%s", iterations, len(key), b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// decodeAnyBase64 accepts the standard and URL-safe alphabets, with or
// without padding, as legacy code used all four.
func decodeAnyBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	trimmed := strings.TrimRight(s, "=")
	if strings.ContainsAny(trimmed, "-_") {
		return base64.RawURLEncoding.DecodeString(trimmed)
	}
	return base64.RawStdEncoding.DecodeString(trimmed)
}
