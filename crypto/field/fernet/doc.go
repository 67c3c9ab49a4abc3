// Package fernet reads and writes Fernet tokens (https://github.com/fernet/spec),
// the format of Python's cryptography.fernet, so that a Go service can decrypt
// what an older Python system wrote and hand it tokens it can read.
//
// A token is base64url(0x80 ‖ timestamp ‖ IV ‖ AES-128-CBC ciphertext ‖
// HMAC-SHA256), with a 32-byte key whose first half signs and second half
// encrypts. Fernet is kept for compatibility; new data belongs in field.Ring,
// whose format binds a context and a key id.
//
// Every failure to decrypt — bad base64, wrong version, bad length, wrong key,
// tampering, bad padding, a token from too far in the future — returns an
// error matching field.ErrDecrypt; an expired token matches ErrExpired as
// well. Nothing panics on any input, and a Key prints as "[REDACTED]".
package fernet
