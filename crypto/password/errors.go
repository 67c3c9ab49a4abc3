package password

import "errors"

var (
	// ErrMismatch is returned by Verify when the password does not match the
	// hash. It is the only error a wrong password produces.
	ErrMismatch = errors.New("password: password does not match")
	// ErrMalformedHash is returned (wrapped, with the reason) for a hash
	// string that cannot be parsed or whose parameters are out of range.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupported is returned for a hash string of an unknown scheme.
	ErrUnsupported = errors.New("password: unsupported hash scheme")
	// ErrTooLong is returned for a password longer than Config.MaxLength
	// bytes, before any hashing work is done.
	ErrTooLong = errors.New("password: password too long")
	// ErrBcryptTooLong is returned when a password longer than 72 bytes is
	// checked against a bcrypt hash: bcrypt reads only the first 72 bytes, so
	// the comparison would silently ignore the rest. Set
	// Config.BcryptTruncate to compare the first 72 bytes as the legacy
	// system did.
	ErrBcryptTooLong = errors.New("password: password longer than bcrypt's 72-byte limit")
	// ErrUnknownPepper is returned for a hash made with a pepper whose id is
	// not configured.
	ErrUnknownPepper = errors.New("password: hash made with an unknown pepper")
)
