package password

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrMismatch is returned by Verify when the password does not match the
	// hash. It is the only error a wrong password produces; a password too
	// long for a bcrypt hash matches it as well (see ErrBcryptTooLong).
	ErrMismatch = errors.New("password: password does not match")
	// ErrMalformedHash is returned (wrapped, with the reason) for a hash
	// string that cannot be parsed or whose parameters are out of range.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupported is returned for a hash string of an unknown scheme.
	ErrUnsupported = errors.New("password: unsupported hash scheme")
	// ErrTooLong is returned for a password longer than Config.MaxLength
	// bytes, before any hashing work is done.
	ErrTooLong = errors.New("password: password too long")
	// ErrBcryptTooLong is matched by the error Verify returns when a
	// password longer than 72 bytes is checked against a bcrypt hash:
	// bcrypt reads only the first 72 bytes, so the comparison would
	// silently ignore the rest. That error matches ErrMismatch too, and
	// comes after the bcrypt comparison a wrong password costs, so that a
	// login path that answers ErrMismatch as a wrong password answers it the
	// same way, in the same time, and does not tell a bcrypt account from an
	// unknown one (VerifyUnknown). Set Config.BcryptTruncate to compare the
	// first 72 bytes as the legacy system did.
	ErrBcryptTooLong = errors.New("password: password longer than bcrypt's 72-byte limit")
	// ErrUnknownPepper is returned for a hash made with a pepper whose id is
	// not configured.
	ErrUnknownPepper = errors.New("password: hash made with an unknown pepper")
)

// ErrHashTooCostly is matched (errors.Is) by the *ParamError that Verify
// returns for a stored hash whose parameters ask for more memory or work than
// the Hasher's ceilings (Config.Limits) allow. No work is done for such a
// hash: a hostile or corrupted hash string cannot make Verify allocate
// gigabytes or spin for seconds. Raise the ceiling named in the error if the
// hash is genuine.
var ErrHashTooCostly = errors.New("password: stored hash asks for more work than the configured ceiling")

// ParamError reports one parameter of a stored hash that Verify refuses: above
// a ceiling (it then matches ErrHashTooCostly) or outside the format's fixed
// bounds, such as a tag shorter than 16 bytes (it then matches
// ErrMalformedHash). It never contains the password or the hash itself.
type ParamError struct {
	// Scheme is the hash scheme: argon2id, argon2i, bcrypt, pbkdf2-sha256,
	// pbkdf2_sha256 (Django) or scrypt.
	Scheme string
	// Param names the parameter as the hash string spells it (m, t, p, i,
	// cost, ln, r, hash, ...); for a derived quantity, how it is computed
	// ("N*r*p", "128*r*N").
	Param string
	// Value is the parameter's value in the hash, in Unit.
	Value uint64
	// Unit is "KiB" for memory, "" for plain counts.
	Unit string
	// Min and Max are the accepted range.
	Min, Max uint64
	// Setting is the Config field that sets Max ("Config.Limits.Memory"),
	// or "" when the bound is fixed by the format.
	Setting string

	kind error // ErrHashTooCostly or ErrMalformedHash
}

func (e *ParamError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "password: %s hash parameter %s=%d", e.Scheme, e.Param, e.Value)
	if e.Unit != "" {
		b.WriteString(" " + e.Unit)
	}
	b.WriteByte(' ')
	switch {
	case e.Value < e.Min:
		fmt.Fprintf(&b, "is below the minimum %d", e.Min)
	case e.Setting != "":
		fmt.Fprintf(&b, "is above the ceiling %d (%s)", e.Max, e.Setting)
	default:
		fmt.Fprintf(&b, "is above the format's maximum %d", e.Max)
	}
	return b.String()
}

// Unwrap returns ErrHashTooCostly or ErrMalformedHash.
func (e *ParamError) Unwrap() error { return e.kind }
