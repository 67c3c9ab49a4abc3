// Package password stores passwords so that a stolen table is useless, and
// moves users off legacy hashes as they log in.
//
// New hashes are argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane;
// configurable) in the PHC string format that other argon2 implementations
// read:
//
//	h, _ := password.New(password.Config{})
//	stored, _ := h.Hash("correct horse battery staple")
//	// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// Verify also accepts, for migration, bcrypt ($2a$/$2b$/$2y$), PBKDF2-SHA256
// in PHC form ($pbkdf2-sha256$; FromPBKDF2Columns converts the older Python
// system's two base64 columns into it), Django's pbkdf2_sha256$ strings and
// passlib's $scrypt$ strings. NeedsRehash tells the login path which hashes
// to replace; VerifyAndUpgrade does both in one call. The formats are
// specified in docs/FORMATS.md.
//
// One hash at the defaults takes about 17–18 ms of one core of a 2-core AMD
// EPYC and 19 MiB of memory (docs/BENCHMARKS.md): plan login capacity with
// that figure. At most Config.MaxConcurrent hashes (default GOMAXPROCS) run
// at once; further calls wait (HashContext, VerifyContext and
// VerifyUnknownContext stop waiting when their context ends).
//
// When a login names no known account, call VerifyUnknown instead of
// returning at once: it does the work of one Verify at the current
// parameters and returns ErrMismatch, so response times do not reveal which
// accounts exist.
//
// # Guarantees
//
// A Hasher is immutable and safe for concurrent use. Salts come from
// crypto/rand; derived keys are compared in constant time. A password longer
// than Config.MaxLength (1024 bytes by default) is refused before any work,
// so a huge password cannot be used to burn CPU. bcrypt reads only 72 bytes:
// a longer password checked against a bcrypt hash never matches unless
// Config.BcryptTruncate says to compare the first 72 bytes; it costs the
// bcrypt comparison of a wrong password and its error matches both
// ErrMismatch and ErrBcryptTooLong, so that it does not tell a bcrypt
// account from an unknown one. Stored hashes are treated as untrusted input:
// before any work, a hash whose memory or work exceeds Config.Limits is
// refused with a *ParamError matching ErrHashTooCostly that names the
// parameter and the setting. By default argon2 may use four times the
// memory (76 MiB), passes (8) and work m·t of Keel's default hash (or of
// the Hasher's own parameters, if larger), at most 4 lanes; PBKDF2 at most
// 2 000 000 iterations × 32-byte blocks of key; scrypt N·r·p ≤ 2^21 within
// the same memory ceiling; bcrypt cost 12. Parameters outside the formats'
// fixed bounds, and tags shorter than 16 bytes, are refused as
// ErrMalformedHash.
// So no stored hash can make Verify allocate more than Limits.Memory or
// stall a login, and the parser has a fuzz target. Hashing memory is bounded
// by MaxConcurrent × Limits.Memory. An optional pepper (HMAC-SHA256 before argon2id, its id
// recorded as the PHC keyid) protects a table stolen without the
// application's secrets. Errors never contain the password.
package password
