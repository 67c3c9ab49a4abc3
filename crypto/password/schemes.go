package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Fixed bounds on parameters read from a stored hash: outside them a hash is
// malformed. The configurable ceilings (Config.Limits), checked before any
// work, are what keep a corrupted or hostile hash from making Verify allocate
// gigabytes or spin for seconds.
const (
	maxArgonMemory   = 1 << 22 // KiB (4 GiB)
	maxArgonTime     = 1000
	maxPBKDF2Iter    = 10_000_000
	maxScryptLogN    = 22
	maxScryptR       = 32
	maxScryptP       = 16
	maxSaltLength    = 128
	minHashLength    = 16 // a shorter tag is too easy to match by chance
	maxHashLength    = 128
	bcryptMaxPassLen = 72
	maxBcryptCost    = 18
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding.Strict()

// scheme is one parsed hash string.
type scheme interface {
	// within checks the hash's cost against the ceilings, without work.
	within(l *Limits) error
	verify(h *Hasher, password string) error
}

// tooCostly is the error for a parameter above a configured ceiling.
func tooCostly(scheme, param string, value, limit uint64, setting string) error {
	e := &ParamError{Scheme: scheme, Param: param, Value: value, Max: limit, Setting: setting, kind: ErrHashTooCostly}
	if setting == "Config.Limits.Memory" || setting == "Config.Limits.ArgonWork" {
		e.Unit = "KiB"
	}
	return e
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
}

// parse recognises a hash string by its prefix. It never panics and never
// does expensive work.
func parse(encoded string) (scheme, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		return parseArgon(encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return nil, malformed("bcrypt: %v", err)
		}
		if cost > maxBcryptCost {
			return nil, &ParamError{Scheme: "bcrypt", Param: "cost", Value: uint64(cost), Min: uint64(bcrypt.MinCost), Max: maxBcryptCost, kind: ErrMalformedHash}
		}
		return bcryptHash{encoded: encoded, cost: cost}, nil
	case strings.HasPrefix(encoded, "$pbkdf2-sha256$"):
		return parsePBKDF2(encoded)
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		return parseDjango(encoded)
	case strings.HasPrefix(encoded, "$scrypt$"):
		return parseScrypt(encoded)
	case encoded == "":
		return nil, malformed("empty hash")
	}
	return nil, ErrUnsupported
}

// params parses "k1=v1,k2=v2" into values for the allowed keys (each at
// most once) and checks the required ones are present.
func params(s string, required []string, optional ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return nil, malformed("parameter %q is not key=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, malformed("parameter %q repeated", k)
		}
		if !contains(required, k) && !contains(optional, k) {
			return nil, malformed("unknown parameter %q", k)
		}
		out[k] = v
	}
	for _, k := range required {
		if _, ok := out[k]; !ok {
			return nil, malformed("parameter %q missing", k)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// number parses a decimal parameter of scheme in [lo, hi] (no sign, no
// leading zeros); outside the range it returns a *ParamError matching
// ErrMalformedHash.
func number(scheme, name, v string, lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return 0, malformed("%s=%q is not a decimal number", name, v)
	}
	if n < lo || n > hi {
		return 0, &ParamError{Scheme: scheme, Param: name, Value: n, Min: lo, Max: hi, kind: ErrMalformedHash}
	}
	return n, nil
}

// decodeB64 decodes a base64 field of scheme of lo to hi bytes; a length
// outside is a *ParamError matching ErrMalformedHash.
func decodeB64(scheme, name, v string, lo, hi int) ([]byte, error) {
	b, err := b64.DecodeString(v)
	if err != nil || strings.ContainsAny(v, "\r\n") {
		return nil, malformed("%s is not unpadded base64", name)
	}
	if len(b) < lo || len(b) > hi {
		return nil, &ParamError{Scheme: scheme, Param: name + " bytes", Value: uint64(len(b)), Min: uint64(lo), Max: uint64(hi), kind: ErrMalformedHash}
	}
	return b, nil
}

// argonParams is an argon2 PHC string:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>[,keyid=<b64 id>]$<b64 salt>$<b64 hash>
type argonParams struct {
	variant      string
	memory, time uint32
	threads      uint8
	keyID        string
	salt, hash   []byte
}

func (a *argonParams) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "$%s$v=%d$m=%d,t=%d,p=%d", a.variant, argon2.Version, a.memory, a.time, a.threads)
	if a.keyID != "" {
		b.WriteString(",keyid=" + b64.EncodeToString([]byte(a.keyID)))
	}
	b.WriteString("$" + b64.EncodeToString(a.salt) + "$" + b64.EncodeToString(a.hash))
	return b.String()
}

func parseArgon(encoded string) (*argonParams, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" {
		return nil, malformed("argon2: want $variant$v=19$params$salt$hash")
	}
	if f[2] != "v=19" {
		return nil, fmt.Errorf("%w: argon2 version %q (only v=19 is supported)", ErrUnsupported, f[2])
	}
	p, err := params(f[3], []string{"m", "t", "p"}, "keyid")
	if err != nil {
		return nil, err
	}
	a := &argonParams{variant: f[1]}
	threads, err := number(a.variant, "p", p["p"], 1, 255)
	if err != nil {
		return nil, err
	}
	mem, err := number(a.variant, "m", p["m"], 8*threads, maxArgonMemory)
	if err != nil {
		return nil, err
	}
	t, err := number(a.variant, "t", p["t"], 1, maxArgonTime)
	if err != nil {
		return nil, err
	}
	a.memory, a.time, a.threads = uint32(mem), uint32(t), uint8(threads)
	if k, ok := p["keyid"]; ok {
		id, err := decodeB64(a.variant, "keyid", k, 1, 8)
		if err != nil {
			return nil, err
		}
		if !pepperIDPattern.Match(id) {
			return nil, malformed("keyid is not 1 to 8 ASCII letters or digits")
		}
		a.keyID = string(id)
	}
	if a.salt, err = decodeB64(a.variant, "salt", f[4], 8, maxSaltLength); err != nil {
		return nil, err
	}
	if a.hash, err = decodeB64(a.variant, "hash", f[5], minHashLength, maxHashLength); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *argonParams) within(l *Limits) error {
	switch {
	case a.memory > l.Memory:
		return tooCostly(a.variant, "m", uint64(a.memory), uint64(l.Memory), "Config.Limits.Memory")
	case a.time > l.Iterations:
		return tooCostly(a.variant, "t", uint64(a.time), uint64(l.Iterations), "Config.Limits.Iterations")
	case a.threads > l.Parallelism:
		return tooCostly(a.variant, "p", uint64(a.threads), uint64(l.Parallelism), "Config.Limits.Parallelism")
	case uint64(a.memory)*uint64(a.time) > l.ArgonWork:
		return tooCostly(a.variant, "m*t", uint64(a.memory)*uint64(a.time), l.ArgonWork, "Config.Limits.ArgonWork")
	}
	return nil
}

func (a *argonParams) verify(h *Hasher, password string) error {
	if a.keyID != "" {
		if _, ok := h.peppers[a.keyID]; !ok {
			return fmt.Errorf("%w: %q", ErrUnknownPepper, a.keyID)
		}
	}
	h.kdf(kdfCall{scheme: a.variant, memory: a.memory, time: a.time, threads: a.threads, keyLen: len(a.hash), pepperID: a.keyID})
	in := h.pepper(password, a.keyID)
	var got []byte
	if a.variant == "argon2id" {
		got = argon2.IDKey(in, a.salt, a.time, a.memory, a.threads, uint32(len(a.hash)))
	} else {
		got = argon2.Key(in, a.salt, a.time, a.memory, a.threads, uint32(len(a.hash)))
	}
	return equal(got, a.hash)
}

// bcryptHash is a $2a$, $2b$ or $2y$ bcrypt string.
type bcryptHash struct {
	encoded string
	cost    int
}

func (b bcryptHash) within(l *Limits) error {
	if b.cost > l.BcryptCost {
		return tooCostly("bcrypt", "cost", uint64(b.cost), uint64(l.BcryptCost), "Config.Limits.BcryptCost")
	}
	return nil
}

func (b bcryptHash) verify(h *Hasher, password string) error {
	tooLong := len(password) > bcryptMaxPassLen
	if tooLong {
		password = password[:bcryptMaxPassLen]
	}
	h.kdf(kdfCall{scheme: "bcrypt", iterations: 1 << b.cost})
	err := bcrypt.CompareHashAndPassword([]byte(b.encoded), []byte(password))
	switch {
	case tooLong && !h.cfg.BcryptTruncate && (err == nil || errors.Is(err, bcrypt.ErrMismatchedHashAndPassword)):
		// Refused after the work of a wrong password, and answered like
		// one, so that the answer does not tell a bcrypt account from an
		// unknown one (VerifyUnknown).
		return errBcryptTooLong{}
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return ErrMismatch
	}
	return malformed("bcrypt: %v", err)
}

// errBcryptTooLong matches ErrBcryptTooLong and ErrMismatch.
type errBcryptTooLong struct{}

func (errBcryptTooLong) Error() string {
	return "password: password does not match: longer than bcrypt's 72-byte limit (Config.BcryptTruncate compares the first 72 bytes)"
}

func (errBcryptTooLong) Is(target error) bool {
	return target == ErrBcryptTooLong || target == ErrMismatch
}

// pbkdf2Hash is PBKDF2-HMAC-SHA256 in PHC form:
// $pbkdf2-sha256$i=<iterations>[,l=<key length>]$<b64 salt>$<b64 key>
type pbkdf2Hash struct {
	scheme     string // pbkdf2-sha256 or pbkdf2_sha256 (Django)
	iterations int
	salt, key  []byte
}

func parsePBKDF2(encoded string) (*pbkdf2Hash, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 5 || f[0] != "" {
		return nil, malformed("pbkdf2-sha256: want $pbkdf2-sha256$i=N$salt$key")
	}
	p, err := params(f[2], []string{"i"}, "l")
	if err != nil {
		return nil, err
	}
	iter, err := number("pbkdf2-sha256", "i", p["i"], 1, maxPBKDF2Iter)
	if err != nil {
		return nil, err
	}
	h := &pbkdf2Hash{scheme: "pbkdf2-sha256", iterations: int(iter)}
	if h.salt, err = decodeB64(h.scheme, "salt", f[3], 1, maxSaltLength); err != nil {
		return nil, err
	}
	if h.key, err = decodeB64(h.scheme, "key", f[4], minHashLength, maxHashLength); err != nil {
		return nil, err
	}
	if l, ok := p["l"]; ok {
		if n, err := number(h.scheme, "l", l, minHashLength, maxHashLength); err != nil || int(n) != len(h.key) {
			return nil, malformed("l=%s does not match the key length %d", l, len(h.key))
		}
	}
	return h, nil
}

// within bounds PBKDF2's work: every 32-byte block of the derived key runs
// all the iterations, so a 128-byte key costs four times a 32-byte one.
func (p *pbkdf2Hash) within(l *Limits) error {
	blocks := uint64(len(p.key)+sha256.Size-1) / sha256.Size
	if work := uint64(p.iterations) * blocks; work > uint64(l.PBKDF2Iterations) {
		name := "i"
		if p.scheme == "pbkdf2_sha256" {
			name = "iterations"
		}
		if blocks > 1 {
			name += "*blocks"
		}
		return tooCostly(p.scheme, name, work, uint64(l.PBKDF2Iterations), "Config.Limits.PBKDF2Iterations")
	}
	return nil
}

func (p *pbkdf2Hash) verify(h *Hasher, password string) error {
	h.kdf(kdfCall{scheme: p.scheme, iterations: uint32(p.iterations), keyLen: len(p.key)})
	got, err := pbkdf2.Key(sha256.New, password, p.salt, p.iterations, len(p.key))
	if err != nil {
		return malformed("pbkdf2: %v", err)
	}
	return equal(got, p.key)
}

// parseDjango reads Django's pbkdf2_sha256$<iterations>$<salt>$<b64 key>,
// where the salt is used as its UTF-8 bytes and the key is padded standard
// base64.
func parseDjango(encoded string) (*pbkdf2Hash, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 4 {
		return nil, malformed("django pbkdf2_sha256: want pbkdf2_sha256$iterations$salt$hash")
	}
	iter, err := number("pbkdf2_sha256", "iterations", f[1], 1, maxPBKDF2Iter)
	if err != nil {
		return nil, err
	}
	if f[2] == "" || len(f[2]) > maxSaltLength {
		return nil, malformed("django pbkdf2_sha256: salt must be 1 to %d bytes", maxSaltLength)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(f[3])
	if err != nil || len(key) < minHashLength || len(key) > maxHashLength || strings.ContainsAny(f[3], "\r\n") {
		return nil, malformed("django pbkdf2_sha256: hash is not padded base64 of %d to %d bytes", minHashLength, maxHashLength)
	}
	return &pbkdf2Hash{scheme: "pbkdf2_sha256", iterations: int(iter), salt: []byte(f[2]), key: key}, nil
}

// scryptHash is passlib's scrypt form:
// $scrypt$ln=<log2 N>,r=<r>,p=<p>$<b64 salt>$<b64 key>
type scryptHash struct {
	logN, r, p int
	salt, key  []byte
}

func parseScrypt(encoded string) (*scryptHash, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 5 || f[0] != "" {
		return nil, malformed("scrypt: want $scrypt$ln=N,r=R,p=P$salt$key")
	}
	p, err := params(f[2], []string{"ln", "r", "p"})
	if err != nil {
		return nil, err
	}
	ln, err := number("scrypt", "ln", p["ln"], 1, maxScryptLogN)
	if err != nil {
		return nil, err
	}
	r, err := number("scrypt", "r", p["r"], 1, maxScryptR)
	if err != nil {
		return nil, err
	}
	pp, err := number("scrypt", "p", p["p"], 1, maxScryptP)
	if err != nil {
		return nil, err
	}
	s := &scryptHash{logN: int(ln), r: int(r), p: int(pp)}
	if s.salt, err = decodeB64("scrypt", "salt", f[3], 1, maxSaltLength); err != nil {
		return nil, err
	}
	if s.key, err = decodeB64("scrypt", "key", f[4], minHashLength, maxHashLength); err != nil {
		return nil, err
	}
	return s, nil
}

// memoryKiB is what scrypt allocates for V and XY: 128·r·N + 256·r bytes
// (B, 128·r·p bytes, is small next to it), in KiB, rounded up.
func (s *scryptHash) memoryKiB() uint64 {
	bytes := 128*uint64(s.r)<<s.logN + 256*uint64(s.r)
	return (bytes + 1023) / 1024
}

func (s *scryptHash) within(l *Limits) error {
	if m := s.memoryKiB(); m > uint64(l.Memory) {
		return tooCostly("scrypt", "128*r*N", m, uint64(l.Memory), "Config.Limits.Memory")
	}
	if w := uint64(s.r) * uint64(s.p) << s.logN; w > l.ScryptWork {
		return tooCostly("scrypt", "N*r*p", w, l.ScryptWork, "Config.Limits.ScryptWork")
	}
	return nil
}

func (s *scryptHash) verify(h *Hasher, password string) error {
	h.kdf(kdfCall{scheme: "scrypt", memory: uint32(s.memoryKiB()), iterations: uint32(s.p), keyLen: len(s.key)})
	got, err := scrypt.Key([]byte(password), s.salt, 1<<s.logN, s.r, s.p, len(s.key))
	if err != nil {
		return malformed("scrypt: %v", err)
	}
	return equal(got, s.key)
}
