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

// Bounds on parameters read from a stored hash. A hash string is data: these
// bounds keep a corrupted or hostile one from making Verify allocate
// gigabytes or spin for minutes.
const (
	maxArgonMemory   = 1 << 22 // KiB (4 GiB)
	maxArgonTime     = 1000
	maxPBKDF2Iter    = 10_000_000
	maxScryptLogN    = 22
	maxScryptR       = 32
	maxScryptP       = 16
	maxSaltLength    = 128
	maxHashLength    = 128
	bcryptMaxPassLen = 72
	maxBcryptCost    = 18
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding.Strict()

// scheme is one parsed hash string.
type scheme interface {
	verify(h *Hasher, password string) error
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
			return nil, malformed("bcrypt cost %d is above %d", cost, maxBcryptCost)
		}
		return bcryptHash(encoded), nil
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

// number parses a decimal parameter in [lo, hi] (no sign, no leading zeros).
func number(name, v string, lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return 0, malformed("%s=%q is not a decimal number", name, v)
	}
	if n < lo || n > hi {
		return 0, malformed("%s=%d is out of range [%d,%d]", name, n, lo, hi)
	}
	return n, nil
}

func decodeB64(name, v string, lo, hi int) ([]byte, error) {
	b, err := b64.DecodeString(v)
	if err != nil || strings.ContainsAny(v, "\r\n") {
		return nil, malformed("%s is not unpadded base64", name)
	}
	if len(b) < lo || len(b) > hi {
		return nil, malformed("%s is %d bytes, want %d to %d", name, len(b), lo, hi)
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
	threads, err := number("p", p["p"], 1, 255)
	if err != nil {
		return nil, err
	}
	mem, err := number("m", p["m"], 8*threads, maxArgonMemory)
	if err != nil {
		return nil, err
	}
	t, err := number("t", p["t"], 1, maxArgonTime)
	if err != nil {
		return nil, err
	}
	a.memory, a.time, a.threads = uint32(mem), uint32(t), uint8(threads)
	if k, ok := p["keyid"]; ok {
		id, err := decodeB64("keyid", k, 1, 8)
		if err != nil {
			return nil, err
		}
		if !pepperIDPattern.Match(id) {
			return nil, malformed("keyid is not 1 to 8 ASCII letters or digits")
		}
		a.keyID = string(id)
	}
	if a.salt, err = decodeB64("salt", f[4], 8, maxSaltLength); err != nil {
		return nil, err
	}
	if a.hash, err = decodeB64("hash", f[5], 4, maxHashLength); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *argonParams) verify(h *Hasher, password string) error {
	if a.keyID != "" {
		if _, ok := h.peppers[a.keyID]; !ok {
			return fmt.Errorf("%w: %q", ErrUnknownPepper, a.keyID)
		}
	}
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
type bcryptHash string

func (b bcryptHash) verify(h *Hasher, password string) error {
	if len(password) > bcryptMaxPassLen {
		if !h.cfg.BcryptTruncate {
			return fmt.Errorf("%w: %d bytes", ErrBcryptTooLong, len(password))
		}
		password = password[:bcryptMaxPassLen]
	}
	err := bcrypt.CompareHashAndPassword([]byte(b), []byte(password))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return ErrMismatch
	}
	return malformed("bcrypt: %v", err)
}

// pbkdf2Hash is PBKDF2-HMAC-SHA256 in PHC form:
// $pbkdf2-sha256$i=<iterations>[,l=<key length>]$<b64 salt>$<b64 key>
type pbkdf2Hash struct {
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
	iter, err := number("i", p["i"], 1, maxPBKDF2Iter)
	if err != nil {
		return nil, err
	}
	h := &pbkdf2Hash{iterations: int(iter)}
	if h.salt, err = decodeB64("salt", f[3], 1, maxSaltLength); err != nil {
		return nil, err
	}
	if h.key, err = decodeB64("key", f[4], 16, maxHashLength); err != nil {
		return nil, err
	}
	if l, ok := p["l"]; ok {
		if n, err := number("l", l, 16, maxHashLength); err != nil || int(n) != len(h.key) {
			return nil, malformed("l=%s does not match the key length %d", l, len(h.key))
		}
	}
	return h, nil
}

func (p *pbkdf2Hash) verify(_ *Hasher, password string) error {
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
	iter, err := number("iterations", f[1], 1, maxPBKDF2Iter)
	if err != nil {
		return nil, err
	}
	if f[2] == "" || len(f[2]) > maxSaltLength {
		return nil, malformed("django pbkdf2_sha256: salt must be 1 to %d bytes", maxSaltLength)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(f[3])
	if err != nil || len(key) < 16 || len(key) > maxHashLength || strings.ContainsAny(f[3], "\r\n") {
		return nil, malformed("django pbkdf2_sha256: hash is not padded base64 of 16 to %d bytes", maxHashLength)
	}
	return &pbkdf2Hash{iterations: int(iter), salt: []byte(f[2]), key: key}, nil
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
	ln, err := number("ln", p["ln"], 1, maxScryptLogN)
	if err != nil {
		return nil, err
	}
	r, err := number("r", p["r"], 1, maxScryptR)
	if err != nil {
		return nil, err
	}
	pp, err := number("p", p["p"], 1, maxScryptP)
	if err != nil {
		return nil, err
	}
	s := &scryptHash{logN: int(ln), r: int(r), p: int(pp)}
	if s.salt, err = decodeB64("salt", f[3], 1, maxSaltLength); err != nil {
		return nil, err
	}
	if s.key, err = decodeB64("key", f[4], 16, maxHashLength); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *scryptHash) verify(_ *Hasher, password string) error {
	got, err := scrypt.Key([]byte(password), s.salt, 1<<s.logN, s.r, s.p, len(s.key))
	if err != nil {
		return malformed("scrypt: %v", err)
	}
	return equal(got, s.key)
}
