package password

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"regexp"
	"runtime"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Config configures a Hasher. Zero fields take OWASP's current
// recommendation for argon2id (Password Storage Cheat Sheet): 19 MiB of
// memory, 2 passes, 1 lane.
type Config struct {
	// Memory is argon2id's memory cost in KiB. Zero means 19456 (19 MiB).
	Memory uint32
	// Iterations is argon2id's time cost (passes). Zero means 2.
	Iterations uint32
	// Parallelism is argon2id's lane count. Zero means 1.
	Parallelism uint8
	// SaltLength is the random salt length in bytes. Zero means 16.
	SaltLength int
	// KeyLength is the hash output length in bytes. Zero means 32.
	KeyLength int
	// MaxLength is the longest password accepted, in bytes, checked before
	// any work so that a 1 MB password costs nothing. Zero means 1024.
	MaxLength int
	// Pepper, if set, is a secret (at least 32 bytes) kept outside the
	// database: new hashes are argon2id of HMAC-SHA256(Pepper, password), so
	// a stolen table cannot be attacked without it. PepperID (required with
	// Pepper, 1 to 8 ASCII letters or digits) is recorded in the hash as the
	// PHC keyid parameter so that peppers can be rotated.
	Pepper   []byte
	PepperID string
	// RetiredPeppers are older peppers by id, still accepted by Verify;
	// NeedsRehash reports their hashes so that logins move them to Pepper.
	RetiredPeppers map[string][]byte
	// BcryptTruncate makes Verify compare only the first 72 bytes of a longer
	// password against a bcrypt hash, which is what bcrypt implementations
	// that accepted such passwords did. When false (the default), such a
	// password never matches: after the comparison's work, Verify returns
	// an error matching both ErrBcryptTooLong and ErrMismatch instead of
	// silently truncating.
	BcryptTruncate bool
	// Limits are the ceilings on the memory and work a stored hash may ask
	// of Verify. Zero fields take defaults a few times Keel's own
	// parameters (see Limits).
	Limits Limits
	// MaxConcurrent bounds how many hashes (Hash, Verify, VerifyUnknown and
	// VerifyAndUpgrade alike) are computed at once; further calls wait for a
	// slot (the Context variants stop waiting when their context ends). Each
	// argon2id hash holds Config.Memory (19 MiB by default) while it runs, so
	// memory for hashing is bounded by MaxConcurrent × Memory (at most
	// MaxConcurrent × Limits.Memory for stored hashes). Zero means
	// runtime.GOMAXPROCS(0) at New: hashing is CPU-bound, and more hashes at
	// once than cores only add memory.
	MaxConcurrent int
}

// Limits bounds what a stored hash may cost to verify. A hash string is
// data: without ceilings, "$scrypt$ln=22,r=32,p=16$..." would allocate 16 GiB
// and a PBKDF2 hash with ten million iterations would burn half a minute of
// CPU per login attempt. A hash above a ceiling is refused with a *ParamError
// matching ErrHashTooCostly before any work. Each ceiling must be at least the
// Hasher's own parameter, so that Keel can always verify what it writes. The
// argon2 ceilings default to four times the larger of the Hasher's parameter
// and Keel's default, so that a Hasher configured below the defaults still
// verifies the hashes written at them.
type Limits struct {
	// Memory is the most memory, in KiB, that one argon2 hash (m) or scrypt
	// hash (128·r·N bytes) may use. Zero means 4 × max(Config.Memory,
	// DefaultMemory) (77824 KiB, 76 MiB, at the defaults, which also admits
	// passlib's scrypt default of 64 MiB).
	Memory uint32
	// Iterations is the highest argon2 time cost t. Zero means
	// 4 × max(Config.Iterations, DefaultIterations) (8 at the defaults).
	Iterations uint32
	// Parallelism is the highest argon2 lane count p (Go's argon2 runs one
	// goroutine per lane; lanes share m and add no work). Zero means the
	// larger of 4 and Config.Parallelism.
	Parallelism uint8
	// ArgonWork is the highest argon2 work m·t (KiB of memory filled per
	// pass, times passes): Memory and Iterations alone would admit 16 times
	// Keel's work. Zero means 4 × max(Config.Memory·Config.Iterations,
	// DefaultMemory·DefaultIterations) (155648 at the defaults: four times
	// the work of a default hash). argon2-cffi's default (m=65536, t=3,
	// 196608) needs it raised.
	ArgonWork uint64
	// PBKDF2Iterations is the highest PBKDF2-SHA256 work (Keel's PHC form
	// and Django's): iterations × ceil(key bytes / 32), since each 32-byte
	// block of the derived key runs every iteration; for the usual 32-byte
	// key, the iteration count. Zero means 2 000 000, about four times
	// LegacyPBKDF2Iterations (and above Django's current defaults).
	PBKDF2Iterations uint32
	// ScryptWork is the highest N·r·p of a scrypt hash (its CPU work). Zero
	// means 2 097 152 (2^21), four times passlib's default ln=16, r=8, p=1.
	ScryptWork uint64
	// BcryptCost is the highest bcrypt cost. Zero means 12 (4096 rounds
	// of the key schedule, about four times the common default of 10).
	BcryptCost int
}

// Default ceilings that do not derive from Config.
const (
	DefaultPBKDF2Ceiling = 2_000_000
	DefaultScryptWork    = 1 << 21
	DefaultBcryptCeiling = 12
)

// Hasher hashes passwords with argon2id and verifies argon2id, bcrypt,
// PBKDF2-SHA256 (Keel's PHC form and Django's) and scrypt hashes. It is
// immutable and safe for concurrent use. Each Hash or Verify at the default
// parameters allocates 19 MiB for its duration; at most
// Config.MaxConcurrent of them run at once, the others wait.
type Hasher struct {
	cfg     Config
	limits  Limits
	peppers map[string][]byte
	slots   chan struct{} // one token per hash in progress (Config.MaxConcurrent)

	// testHookKDF, when set (by tests only, before use), is called with the
	// parameters of every key derivation, while its slot is held.
	testHookKDF func(kdfCall)
}

// kdfCall describes one key derivation, for tests that check that two paths
// do the same work.
type kdfCall struct {
	scheme                   string
	memory, time, iterations uint32
	threads                  uint8
	keyLen                   int
	pepperID                 string
}

// OWASP's argon2id parameters, the defaults.
const (
	DefaultMemory      = 19456
	DefaultIterations  = 2
	DefaultParallelism = 1
	DefaultMaxLength   = 1024
)

var pepperIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,8}$`)

// New validates cfg and returns a Hasher. Errors name the field.
func New(cfg Config) (*Hasher, error) {
	if cfg.Memory == 0 {
		cfg.Memory = DefaultMemory
	}
	if cfg.Iterations == 0 {
		cfg.Iterations = DefaultIterations
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = DefaultParallelism
	}
	if cfg.SaltLength == 0 {
		cfg.SaltLength = 16
	}
	if cfg.KeyLength == 0 {
		cfg.KeyLength = 32
	}
	if cfg.MaxLength == 0 {
		cfg.MaxLength = DefaultMaxLength
	}
	switch {
	case cfg.Memory < 8*uint32(cfg.Parallelism):
		return nil, fmt.Errorf("password: Config.Memory must be at least 8 KiB per lane, got %d", cfg.Memory)
	case cfg.Memory > maxArgonMemory:
		return nil, fmt.Errorf("password: Config.Memory must be at most %d KiB, got %d", maxArgonMemory, cfg.Memory)
	case cfg.Iterations > maxArgonTime:
		return nil, fmt.Errorf("password: Config.Iterations must be at most %d, got %d", maxArgonTime, cfg.Iterations)
	case cfg.SaltLength < 8 || cfg.SaltLength > 64:
		return nil, fmt.Errorf("password: Config.SaltLength must be in [8,64], got %d", cfg.SaltLength)
	case cfg.KeyLength < 16 || cfg.KeyLength > 64:
		return nil, fmt.Errorf("password: Config.KeyLength must be in [16,64], got %d", cfg.KeyLength)
	case cfg.MaxLength < 1:
		return nil, fmt.Errorf("password: Config.MaxLength must be positive, got %d", cfg.MaxLength)
	case cfg.MaxConcurrent < 0:
		return nil, fmt.Errorf("password: Config.MaxConcurrent must not be negative, got %d", cfg.MaxConcurrent)
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	limits, err := cfg.limits()
	if err != nil {
		return nil, err
	}
	h := &Hasher{cfg: cfg, limits: limits, peppers: map[string][]byte{}, slots: make(chan struct{}, cfg.MaxConcurrent)}
	if len(cfg.Pepper) > 0 || cfg.PepperID != "" {
		if len(cfg.Pepper) < 32 {
			return nil, fmt.Errorf("password: Config.Pepper must be at least 32 bytes, got %d", len(cfg.Pepper))
		}
		if !pepperIDPattern.MatchString(cfg.PepperID) {
			return nil, fmt.Errorf("password: Config.PepperID must be 1 to 8 ASCII letters or digits, got %q", cfg.PepperID)
		}
		h.peppers[cfg.PepperID] = cfg.Pepper
	}
	for id, p := range cfg.RetiredPeppers {
		if !pepperIDPattern.MatchString(id) || len(p) < 32 {
			return nil, fmt.Errorf("password: Config.RetiredPeppers[%q] needs an id of 1 to 8 letters or digits and at least 32 bytes", id)
		}
		if id == cfg.PepperID {
			return nil, fmt.Errorf("password: Config.RetiredPeppers holds the current PepperID %q", id)
		}
		h.peppers[id] = p
	}
	return h, nil
}

// limits fills the zero fields of cfg.Limits (cfg already has its
// defaults) and checks that each ceiling admits the Hasher's own hashes.
func (cfg *Config) limits() (Limits, error) {
	l := cfg.Limits
	own := uint64(cfg.Memory) * uint64(cfg.Iterations)
	if l.Memory == 0 {
		l.Memory = uint32(min(4*uint64(max(cfg.Memory, DefaultMemory)), maxArgonMemory))
	}
	if l.Iterations == 0 {
		l.Iterations = min(4*max(cfg.Iterations, DefaultIterations), maxArgonTime)
	}
	if l.Parallelism == 0 {
		l.Parallelism = max(4, cfg.Parallelism)
	}
	if l.ArgonWork == 0 {
		l.ArgonWork = 4 * max(own, DefaultMemory*DefaultIterations)
	}
	if l.PBKDF2Iterations == 0 {
		l.PBKDF2Iterations = DefaultPBKDF2Ceiling
	}
	if l.ScryptWork == 0 {
		l.ScryptWork = DefaultScryptWork
	}
	if l.BcryptCost == 0 {
		l.BcryptCost = DefaultBcryptCeiling
	}
	switch {
	case l.Memory < cfg.Memory || l.Memory > maxArgonMemory:
		return l, fmt.Errorf("password: Config.Limits.Memory must be in [Config.Memory=%d, %d] KiB, got %d", cfg.Memory, maxArgonMemory, l.Memory)
	case l.Iterations < cfg.Iterations || l.Iterations > maxArgonTime:
		return l, fmt.Errorf("password: Config.Limits.Iterations must be in [Config.Iterations=%d, %d], got %d", cfg.Iterations, maxArgonTime, l.Iterations)
	case l.Parallelism < cfg.Parallelism:
		return l, fmt.Errorf("password: Config.Limits.Parallelism must be at least Config.Parallelism=%d, got %d", cfg.Parallelism, l.Parallelism)
	case l.ArgonWork < own:
		return l, fmt.Errorf("password: Config.Limits.ArgonWork must be at least Config.Memory × Config.Iterations = %d, got %d", own, l.ArgonWork)
	case l.PBKDF2Iterations > maxPBKDF2Iter:
		return l, fmt.Errorf("password: Config.Limits.PBKDF2Iterations must be at most %d, got %d", maxPBKDF2Iter, l.PBKDF2Iterations)
	case l.BcryptCost < bcrypt.MinCost || l.BcryptCost > maxBcryptCost:
		return l, fmt.Errorf("password: Config.Limits.BcryptCost must be in [%d,%d], got %d", bcrypt.MinCost, maxBcryptCost, l.BcryptCost)
	}
	return l, nil
}

// acquire takes a hashing slot, waiting until one is free or ctx ends.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot (Config.MaxConcurrent=%d): %w", cap(h.slots), ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

func (h *Hasher) kdf(c kdfCall) {
	if h.testHookKDF != nil {
		h.testHookKDF(c)
	}
}

// Hash returns the argon2id PHC string of password with a fresh random salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (with ",keyid=<id>" after p when a pepper is configured). It waits for a
// hashing slot (Config.MaxConcurrent).
func (h *Hasher) Hash(password string) (string, error) {
	return h.HashContext(context.Background(), password)
}

// HashContext is Hash, giving up with ctx's error (wrapped) if ctx ends while
// it waits for a hashing slot. Once computing, it finishes.
func (h *Hasher) HashContext(ctx context.Context, password string) (string, error) {
	if len(password) > h.cfg.MaxLength {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(password), h.cfg.MaxLength)
	}
	salt := make([]byte, h.cfg.SaltLength)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go ≥ 1.24)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hashWithSalt(password, salt), nil
}

func (h *Hasher) hashWithSalt(password string, salt []byte) string {
	p := argonParams{
		variant: "argon2id", memory: h.cfg.Memory, time: h.cfg.Iterations, threads: h.cfg.Parallelism,
		keyID: h.cfg.PepperID, salt: salt,
	}
	h.kdf(kdfCall{scheme: p.variant, memory: p.memory, time: p.time, threads: p.threads, keyLen: h.cfg.KeyLength, pepperID: p.keyID})
	p.hash = argon2.IDKey(h.pepper(password, p.keyID), salt, p.time, p.memory, p.threads, uint32(h.cfg.KeyLength))
	return p.String()
}

// pepper returns the argon2 input: the password, or its HMAC under the
// pepper with the given id.
func (h *Hasher) pepper(password, keyID string) []byte {
	if keyID == "" {
		return []byte(password)
	}
	m := hmac.New(sha256.New, h.peppers[keyID])
	m.Write([]byte(password))
	return m.Sum(nil)
}

// Verify checks password against a hash made by Hash or by a legacy system
// (bcrypt, PBKDF2-SHA256, Django pbkdf2_sha256, scrypt). It returns nil on a
// match, ErrMismatch on a wrong password (and on a password longer than 72
// bytes for a bcrypt hash, an error that also matches ErrBcryptTooLong), and
// another error (ErrMalformedHash, ErrHashTooCostly, ErrUnsupported,
// ErrTooLong, ErrUnknownPepper) when the check could not be made. A stored hash whose
// parameters exceed Config.Limits is refused before any work with a
// *ParamError naming the parameter and the ceiling. Hash comparisons are
// constant-time. It waits for a hashing slot (Config.MaxConcurrent).
func (h *Hasher) Verify(password, encoded string) error {
	return h.VerifyContext(context.Background(), password, encoded)
}

// VerifyContext is Verify, giving up with ctx's error (wrapped) if ctx ends
// while it waits for a hashing slot.
func (h *Hasher) VerifyContext(ctx context.Context, password, encoded string) error {
	if len(password) > h.cfg.MaxLength {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(password), h.cfg.MaxLength)
	}
	s, err := parse(encoded)
	if err != nil {
		return err
	}
	if err := s.within(&h.limits); err != nil {
		return err
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	return s.verify(h, password)
}

// VerifyUnknown does the work of a Verify against a hash made by Hash now
// (argon2id at the Hasher's parameters, with its current pepper) and returns
// ErrMismatch. Call it when the login names no known user, so that the
// answer takes as long as for a known user with a wrong password and login
// timing does not reveal which accounts exist. Users still on a legacy hash
// (bcrypt, PBKDF2, scrypt) take the time of their scheme until they log in
// once and VerifyAndUpgrade moves them to argon2id. A password too long for
// a bcrypt account costs that account's bcrypt comparison and is answered
// with an error matching ErrMismatch, like a wrong password: answer
// ErrMismatch the same way whatever else it matches.
func (h *Hasher) VerifyUnknown(password string) error {
	return h.VerifyUnknownContext(context.Background(), password)
}

// VerifyUnknownContext is VerifyUnknown, giving up with ctx's error
// (wrapped) if ctx ends while it waits for a hashing slot.
func (h *Hasher) VerifyUnknownContext(ctx context.Context, password string) error {
	if len(password) > h.cfg.MaxLength {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(password), h.cfg.MaxLength)
	}
	// A fresh random salt and tag: the same work as a real verify, and no
	// password can ever match.
	dummy := &argonParams{
		variant: "argon2id", memory: h.cfg.Memory, time: h.cfg.Iterations, threads: h.cfg.Parallelism,
		keyID: h.cfg.PepperID, salt: make([]byte, h.cfg.SaltLength), hash: make([]byte, h.cfg.KeyLength),
	}
	_, _ = rand.Read(dummy.salt)
	_, _ = rand.Read(dummy.hash)
	if err := dummy.within(&h.limits); err != nil {
		return err // unreachable: New checks that the limits admit the Hasher's parameters
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	if err := dummy.verify(h, password); err != nil {
		return err
	}
	return ErrMismatch // a 2^-256 chance that the random tag matched
}

// NeedsRehash reports whether a stored hash should be replaced by Hash at
// the next successful login: any scheme other than argon2id, argon2id with
// less memory, fewer passes, another lane count or a shorter output than the
// Hasher's, a pepper other than the current one, or a malformed hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	s, err := parse(encoded)
	if err != nil {
		return true
	}
	a, ok := s.(*argonParams)
	if !ok || a.variant != "argon2id" {
		return true
	}
	return a.memory < h.cfg.Memory || a.time < h.cfg.Iterations || a.threads != h.cfg.Parallelism ||
		len(a.hash) < h.cfg.KeyLength || a.keyID != h.cfg.PepperID
}

// VerifyAndUpgrade is the login path in one call: it verifies password and,
// when it matches and NeedsRehash says so, returns a new hash to store
// (otherwise ""). A legacy PBKDF2 or bcrypt user is thus moved to argon2id
// the next time they log in.
func (h *Hasher) VerifyAndUpgrade(password, encoded string) (newHash string, err error) {
	if err := h.Verify(password, encoded); err != nil {
		return "", err
	}
	if !h.NeedsRehash(encoded) {
		return "", nil
	}
	return h.Hash(password)
}

// equal compares two derived keys in constant time.
func equal(a, b []byte) error {
	if subtle.ConstantTimeCompare(a, b) == 1 {
		return nil
	}
	return ErrMismatch
}
