package password

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"regexp"

	"golang.org/x/crypto/argon2"
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
	// comparison returns ErrBcryptTooLong instead of silently truncating.
	BcryptTruncate bool
}

// Hasher hashes passwords with argon2id and verifies argon2id, bcrypt,
// PBKDF2-SHA256 (Keel's PHC form and Django's) and scrypt hashes. It is
// immutable and safe for concurrent use. Each Hash or Verify at the default
// parameters allocates 19 MiB for its duration: bound concurrent logins (for
// example with a semaphore) to bound memory.
type Hasher struct {
	cfg     Config
	peppers map[string][]byte
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
	}
	h := &Hasher{cfg: cfg, peppers: map[string][]byte{}}
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

// Hash returns the argon2id PHC string of password with a fresh random salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (with ",keyid=<id>" after p when a pepper is configured).
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > h.cfg.MaxLength {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(password), h.cfg.MaxLength)
	}
	salt := make([]byte, h.cfg.SaltLength)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go ≥ 1.24)
	return h.hashWithSalt(password, salt), nil
}

func (h *Hasher) hashWithSalt(password string, salt []byte) string {
	p := argonParams{
		variant: "argon2id", memory: h.cfg.Memory, time: h.cfg.Iterations, threads: h.cfg.Parallelism,
		keyID: h.cfg.PepperID, salt: salt,
	}
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
// match, ErrMismatch on a wrong password, and another error (ErrMalformedHash,
// ErrUnsupported, ErrTooLong, ErrBcryptTooLong, ErrUnknownPepper) when the
// check could not be made. Hash comparisons are constant-time.
func (h *Hasher) Verify(password, encoded string) error {
	if len(password) > h.cfg.MaxLength {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(password), h.cfg.MaxLength)
	}
	s, err := parse(encoded)
	if err != nil {
		return err
	}
	return s.verify(h, password)
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
