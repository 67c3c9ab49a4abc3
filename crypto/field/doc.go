// Package field encrypts individual values — a customer's email, a phone
// number, a card token — before they reach the database, and finds rows by
// such values without decrypting every row.
//
// # Encryption
//
// A Ring holds data keys: one primary key that encrypts, older keys that
// only decrypt. Each value is sealed with an AEAD (XChaCha20-Poly1305 by
// default, AES-256-GCM as an option) under a fresh random nonce. Random
// 96-bit GCM nonces limit an AES-256-GCM key to 2^32 values
// (GCMMessageLimit); the Ring counts encryptions per key (Ring.Usage),
// reports a GCM key at half the limit and refuses to encrypt past it. The
// ciphertext carries a format byte, the algorithm and the key id, and all
// three are authenticated together with a caller-given context (use
// Context("customers", "email", rowID)), so a ciphertext copied to another
// row or column, or relabelled with another key id, does not decrypt. The
// format is specified in docs/FORMATS.md.
//
//	ks, _ := field.ReadKeysetFile("/etc/salesapi/keys.json") // written by `keel keys generate`
//	ring, _ := ks.Ring()
//	ct, _ := ring.Encrypt([]byte("ann@example.com"), field.Context("customers", "email", id))
//	pt, err := ring.Decrypt(ct, field.Context("customers", "email", id))
//
// String and Bytes are database/sql column types that encrypt in Value and
// decrypt in Scan. Secret wraps keys and plaintexts so that fmt, log/slog and
// encoding/json print "[REDACTED]".
//
// # Rotation
//
// Rotation needs no downtime: add the new key to every instance first
// (Keyset.Rotate with promote=false), then promote it, then let a background
// job rewrite old values (Ring.NeedsReencrypt, Ring.Reencrypt), then retire
// the old key. RingFile serves a key ring file and swaps in its new Ring on
// Reload (for example on SIGHUP), so instances pick up each step without a
// restart. docs/KEY-ROTATION.md is the runbook. Envelope encrypts each
// value under its own data key wrapped by a KEK (LocalKEK, or a KMS behind
// the KEK interface); rotating the KEK rewraps only the data keys
// (Envelope.Rewrap). The wrap is bound to the value's context behind a
// prefix of its own (WrapContextPrefix), so a Ring that serves both as a
// LocalKEK and for application values never opens a wrapped data key as an
// application value.
//
// # Blind indexes
//
// A BlindIndex stores a truncated HMAC-SHA256 of the normalised value next to
// the ciphertext, for equality search. Its key is derived with HKDF (DeriveKey)
// from the key set's index key and the index name, so indexes of different
// columns never share values. Truncation makes several rows share an index
// value on purpose (SafeIndexBits states the sizing rule); the application
// decrypts the candidates and drops the false positives.
//
// # Guarantees
//
// Ring, BlindIndex and Envelope are immutable after construction and safe for
// concurrent use. Randomness comes from crypto/rand only. Decrypting anything
// malformed, truncated, tampered with, under another context or under a key
// the ring does not hold returns an error matching ErrDecrypt — never a
// panic, and never a partial plaintext; every parser has a fuzz target.
// Errors and log output never contain key material or plaintexts. Key ring
// files are parsed strictly: member names are case-sensitive and unique
// (encoding/json alone would let "PRIMARY" override "primary"), unknown
// members are refused, and a key set with one key under two ids or an
// index key equal to a data key is refused, each with an error naming the
// problem. Secret.Reveal of a slice returns a copy, so clearing it never
// wipes the key a Ring holds. An AES-256-GCM key never encrypts more than
// GCMMessageLimit values in one Ring (and the Rings a RingFile reloads into);
// across processes, counts add up only if the application feeds them back
// through Config.Encryptions (RingFileConfig.Encryptions for
// OpenRingFileWith). Counts never wrap: a count at or past the limit, up to
// 2^64-1, is an exhausted key. Fernet tokens (Python's cryptography.fernet)
// are read and written by the subpackage fernet.
package field
