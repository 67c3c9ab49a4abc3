package field

import "errors"

// ErrDecrypt is returned (possibly wrapped) by every decryption of a value
// that is malformed, truncated, tampered with, encrypted under another
// context, or encrypted under a key the ring does not hold. Its message
// deliberately does not say which: telling an attacker which check failed
// helps them.
var ErrDecrypt = errors.New("field: cannot decrypt: ciphertext is malformed, tampered with, or under another key or context")

// ErrUnknownKey is wrapped together with ErrDecrypt when a ciphertext names a
// key id the ring does not hold, so that an operator can tell a missing key
// (restore the key ring) from tampering. Both match with errors.Is.
var ErrUnknownKey = errors.New("field: key id not in the key ring")

// ErrKeyExhausted is returned by Encrypt when the primary key has encrypted
// as many values as its algorithm allows (GCMMessageLimit for AES-256-GCM):
// promote a new key (docs/KEY-ROTATION.md). Decryption is unaffected.
var ErrKeyExhausted = errors.New("field: the primary key reached its algorithm's message limit; rotate it (promote a new key)")

// ErrKeyset is returned for a key ring file or Keyset that cannot be used.
var ErrKeyset = errors.New("field: invalid key set")

// decryptError wraps ErrDecrypt, optionally with a more specific sentinel.
type decryptError struct{ also error }

func (e *decryptError) Error() string {
	if e.also != nil {
		return ErrDecrypt.Error() + " (" + e.also.Error() + ")"
	}
	return ErrDecrypt.Error()
}

func (e *decryptError) Is(target error) bool { return target == ErrDecrypt }

func (e *decryptError) Unwrap() error { return e.also }

var errMalformed = &decryptError{}
