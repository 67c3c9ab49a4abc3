package password

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// cheap returns a Hasher with small argon2id parameters: tests of behaviour
// need not pay for 19 MiB per hash. One test uses the defaults.
func cheap(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	if cfg.Memory == 0 {
		cfg.Memory = 64
	}
	if cfg.Iterations == 0 {
		cfg.Iterations = 1
	}
	if cfg.Limits.Memory == 0 { // the known-answer hashes are at Keel's defaults
		cfg.Limits.Memory = 4 * DefaultMemory
	}
	if cfg.Limits.Iterations == 0 {
		cfg.Limits.Iterations = 4 * DefaultIterations
	}
	h, err := New(cfg)
	require.NoError(t, err)
	return h
}

func TestHashAtDefaultParameters(t *testing.T) {
	h, err := New(Config{})
	require.NoError(t, err)
	stored, err := h.Hash("correct horse battery staple")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$"), stored)
	parts := strings.Split(stored, "$")
	require.Len(t, parts, 6)
	assert.Len(t, parts[4], 22, "16-byte salt, unpadded base64")
	assert.Len(t, parts[5], 43, "32-byte hash, unpadded base64")
	require.NoError(t, h.Verify("correct horse battery staple", stored))
	assert.ErrorIs(t, h.Verify("correct horse battery stapl", stored), ErrMismatch)
	assert.False(t, h.NeedsRehash(stored))
}

func TestHashIsSaltedAndVerifies(t *testing.T) {
	h := cheap(t, Config{})
	a, err := h.Hash("pw")
	require.NoError(t, err)
	b, err := h.Hash("pw")
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "a fresh random salt per hash")
	require.NoError(t, h.Verify("pw", a))
	require.NoError(t, h.Verify("pw", b))
	assert.ErrorIs(t, h.Verify("PW", a), ErrMismatch)
	empty, err := h.Hash("")
	require.NoError(t, err)
	require.NoError(t, h.Verify("", empty))
	assert.ErrorIs(t, h.Verify("x", empty), ErrMismatch)
}

func TestKnownAnswers(t *testing.T) {
	h := cheap(t, Config{})
	cases := []struct {
		name, password, hash string
	}{
		// Debian's argon2 CLI (the reference implementation):
		// printf password | argon2 somesalt -id -t 2 -k 19456 -p 1 -l 32 -e
		{"argon2id reference CLI", "password", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E"},
		// Django's own test suite (test_hashers.py, test_pbkdf2).
		{"django pbkdf2_sha256", "lètmein", "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="},
		// RFC 7914 §11, PBKDF2-HMAC-SHA256 P="passwd" S="salt" c=1 dkLen=64.
		{"pbkdf2-sha256 RFC 7914", "passwd", "$pbkdf2-sha256$i=1,l=64$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw"},
		// RFC 7914 §12, scrypt P="password" S="NaCl" N=1024 r=8 p=16 dkLen=64.
		{"scrypt RFC 7914", "password", "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA"},
		// OpenBSD's bcrypt test vector for "U*U".
		{"bcrypt OpenBSD vector", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, h.Verify(c.password, c.hash))
			assert.ErrorIs(t, h.Verify(c.password+"x", c.hash), ErrMismatch)
			assert.Equal(t, !strings.HasPrefix(c.hash, "$argon2id$"), h.NeedsRehash(c.hash), "every legacy hash is upgraded")
		})
	}
}

func TestBcrypt72ByteLimitIsExplicit(t *testing.T) {
	long := strings.Repeat("a", 80)
	stored, err := bcrypt.GenerateFromPassword([]byte(long[:72]), bcrypt.MinCost)
	require.NoError(t, err)

	strict := cheap(t, Config{})
	require.NoError(t, strict.Verify(long[:72], string(stored)))
	assert.ErrorIs(t, strict.Verify(long, string(stored)), ErrBcryptTooLong)

	legacy := cheap(t, Config{BcryptTruncate: true})
	require.NoError(t, legacy.Verify(long, string(stored)), "the legacy system compared the first 72 bytes")
	assert.ErrorIs(t, legacy.Verify(strings.Repeat("b", 80), string(stored)), ErrMismatch)

	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		s := prefix + string(stored[4:])
		require.NoError(t, strict.Verify(long[:72], s), prefix)
	}
}

func TestMaxLengthRefusesHugePasswordsBeforeWork(t *testing.T) {
	h := cheap(t, Config{})
	stored, err := h.Hash("short")
	require.NoError(t, err)
	huge := strings.Repeat("x", 1<<20)
	_, err = h.Hash(huge)
	assert.ErrorIs(t, err, ErrTooLong)
	assert.ErrorIs(t, h.Verify(huge, stored), ErrTooLong)
	assert.NotContains(t, err.Error(), "xxxx", "errors never contain the password")

	small := cheap(t, Config{MaxLength: 8})
	_, err = small.Hash("123456789")
	assert.ErrorIs(t, err, ErrTooLong)
	_, err = small.Hash("12345678")
	assert.NoError(t, err)
}

func TestPepper(t *testing.T) {
	pepper1 := []byte(strings.Repeat("p", 32))
	pepper2 := []byte(strings.Repeat("q", 32))
	h1 := cheap(t, Config{Pepper: pepper1, PepperID: "p1"})
	stored, err := h1.Hash("pw")
	require.NoError(t, err)
	assert.Contains(t, stored, ",keyid=cDE$", "the pepper id is the PHC keyid (base64 of \"p1\")")
	require.NoError(t, h1.Verify("pw", stored))

	plain := cheap(t, Config{})
	assert.ErrorIs(t, plain.Verify("pw", stored), ErrUnknownPepper)
	assert.True(t, plain.NeedsRehash(stored))

	wrongPepper := cheap(t, Config{Pepper: pepper2, PepperID: "p1"})
	assert.ErrorIs(t, wrongPepper.Verify("pw", stored), ErrMismatch, "the pepper takes part in the hash")

	rotated := cheap(t, Config{Pepper: pepper2, PepperID: "p2", RetiredPeppers: map[string][]byte{"p1": pepper1}})
	require.NoError(t, rotated.Verify("pw", stored))
	assert.True(t, rotated.NeedsRehash(stored))
	upgraded, err := rotated.VerifyAndUpgrade("pw", stored)
	require.NoError(t, err)
	assert.Contains(t, upgraded, ",keyid=cDI$")
	assert.False(t, rotated.NeedsRehash(upgraded))

	unpeppered, err := plain.Hash("pw")
	require.NoError(t, err)
	require.NoError(t, h1.Verify("pw", unpeppered), "hashes made before the pepper still verify")
	assert.True(t, h1.NeedsRehash(unpeppered))
}

func TestNeedsRehash(t *testing.T) {
	h := cheap(t, Config{Memory: 128, Iterations: 2})
	current, err := h.Hash("pw")
	require.NoError(t, err)
	weaker, err := cheap(t, Config{Memory: 64, Iterations: 2}).Hash("pw")
	require.NoError(t, err)
	fewerPasses, err := cheap(t, Config{Memory: 128, Iterations: 1}).Hash("pw")
	require.NoError(t, err)
	stronger, err := cheap(t, Config{Memory: 256, Iterations: 3}).Hash("pw")
	require.NoError(t, err)
	cases := map[string]struct {
		hash string
		want bool
	}{
		"current":      {current, false},
		"stronger":     {stronger, false},
		"less memory":  {weaker, true},
		"fewer passes": {fewerPasses, true},
		"argon2i":      {strings.Replace(current, "$argon2id$", "$argon2i$", 1), true},
		"bcrypt":       {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
		"malformed":    {"$argon2id$v=19$m=1", true},
		"unknown":      {"md5$abc", true},
	}
	for name, c := range cases {
		assert.Equal(t, c.want, h.NeedsRehash(c.hash), name)
	}
}

func TestVerifyAndUpgradeMovesLegacyUsersToArgon2id(t *testing.T) {
	h := cheap(t, Config{})
	legacy := "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="
	upgraded, err := h.VerifyAndUpgrade("lètmein", legacy)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(upgraded, "$argon2id$"))
	require.NoError(t, h.Verify("lètmein", upgraded))
	again, err := h.VerifyAndUpgrade("lètmein", upgraded)
	require.NoError(t, err)
	assert.Empty(t, again, "a current hash is kept")
	_, err = h.VerifyAndUpgrade("wrong", legacy)
	assert.ErrorIs(t, err, ErrMismatch)
}

func TestMalformedAndUnsupportedHashes(t *testing.T) {
	h := cheap(t, Config{})
	cases := map[string]error{
		"":        ErrMalformedHash,
		"md5$abc": ErrUnsupported,
		"$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E":         ErrUnsupported,
		"$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E":             ErrMalformedHash,
		"$argon2id$v=19$m=9999999999,t=1,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E": ErrMalformedHash,
		"$argon2id$v=19$m=64,t=1,p=1,m=64$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E":    ErrMalformedHash,
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E":        ErrMalformedHash,
		"$argon2id$v=19$m=064,t=1,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E":        ErrMalformedHash,
		"$2a$05$tooshort": ErrMalformedHash,
		"$pbkdf2-sha256$i=0$c2FsdA$VawEblbjCJ/sFpHCJUS2BQ":                           ErrMalformedHash,
		"$pbkdf2-sha256$i=99999999999$c2FsdA$VawEblbjCJ/sFpHCJUS2BQ":                 ErrMalformedHash,
		"$pbkdf2-sha256$i=1,l=16$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw": ErrMalformedHash,
		"pbkdf2_sha256$10000$seasalt$notbase64!":                                     ErrMalformedHash,
		"pbkdf2_sha256$10000$$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=":          ErrMalformedHash,
		"$scrypt$ln=40,r=8,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI":   ErrMalformedHash,
	}
	for hash, want := range cases {
		err := h.Verify("pw", hash)
		assert.ErrorIs(t, err, want, "%q", hash)
		assert.NotErrorIs(t, err, ErrMismatch, "%q", hash)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Memory: 4}, "Config.Memory must be at least 8 KiB per lane, got 4"},
		{Config{Memory: 1 << 23}, "Config.Memory must be at most"},
		{Config{Iterations: 5000}, "Config.Iterations must be at most 1000"},
		{Config{SaltLength: 4}, "Config.SaltLength must be in [8,64], got 4"},
		{Config{KeyLength: 8}, "Config.KeyLength must be in [16,64], got 8"},
		{Config{MaxLength: -1}, "Config.MaxLength must be positive, got -1"},
		{Config{Pepper: []byte("short"), PepperID: "a"}, "Config.Pepper must be at least 32 bytes, got 5"},
		{Config{Pepper: make([]byte, 32), PepperID: "bad id!"}, "Config.PepperID must be 1 to 8 ASCII letters or digits"},
		{Config{PepperID: "a"}, "Config.Pepper must be at least 32 bytes, got 0"},
		{Config{Pepper: make([]byte, 32), PepperID: "a", RetiredPeppers: map[string][]byte{"a": make([]byte, 32)}}, "holds the current PepperID"},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
		assert.True(t, strings.HasPrefix(err.Error(), "password: "))
	}
}

func TestFromPBKDF2Columns(t *testing.T) {
	// RFC 7914 §11 vector as the legacy system stored it: two base64 columns.
	key := "VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw=="
	stored, err := FromPBKDF2Columns(key, "c2FsdA==", 1)
	require.NoError(t, err)
	assert.Equal(t, "$pbkdf2-sha256$i=1,l=64$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd-8xfHG4RbHjC9UJESBB06GXgw", strings.ReplaceAll(stored, "+", "-"))
	h := cheap(t, Config{})
	require.NoError(t, h.Verify("passwd", stored))

	urlSafe := strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(key)
	stored2, err := FromPBKDF2Columns(urlSafe, "c2FsdA", 1)
	require.NoError(t, err)
	assert.Equal(t, stored, stored2, "URL-safe and unpadded columns convert the same")

	_, err = FromPBKDF2Columns("!!", "c2FsdA==", 1)
	assert.ErrorIs(t, err, ErrMalformedHash)
	_, err = FromPBKDF2Columns(key, "", 1)
	assert.ErrorIs(t, err, ErrMalformedHash)
	_, err = FromPBKDF2Columns(key, "c2FsdA==", 0)
	assert.ErrorIs(t, err, ErrMalformedHash)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E",
		"$argon2id$v=19$m=64,t=1,p=1,keyid=cDE$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E",
		"pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"$pbkdf2-sha256$i=1,l=64$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
		"$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	} {
		f.Add(s)
	}
	h := cheap(f, Config{})
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := parse(s) // parsing only: computing a fuzzed hash could be slow by design
		if err == nil && sch == nil {
			t.Fatal("nil scheme without error")
		}
		if a, ok := sch.(*argonParams); ok && err == nil {
			again, err := parseArgon(a.String())
			if err != nil || again.String() != a.String() {
				t.Fatalf("argon2 PHC string does not round-trip: %q", s)
			}
		}
		if err == nil {
			_ = sch.within(&h.limits) // never does work; must not panic
		}
		_ = h.NeedsRehash(s)
	})
}
