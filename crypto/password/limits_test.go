package password

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noWork makes h stop the test at once if it starts a key derivation: the
// hook runs before the derivation allocates or computes anything, so a
// regression shows as a test failure, not as a process killed by 16 GiB.
// Verify must be called on t's goroutine.
func noWork(t *testing.T, h *Hasher) {
	t.Helper()
	h.testHookKDF = func(c kdfCall) {
		t.Fatalf("a key derivation started (%+v): the hash should have been refused before any work", c)
	}
}

// Issue #16 item 3: a stored hash is untrusted input. Each of these parsed
// and was computed before (16 GiB for the scrypt one, a fatal out-of-memory;
// ~30 s of CPU for the PBKDF2 one; 4 GiB and 1000 passes for argon2).
func TestHostileHashesAreRefusedBeforeAnyWork(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E"
	cases := []struct {
		name, hash       string
		want             error
		scheme, param    string
		value, max, minv uint64
		setting          string
	}{
		{"scrypt 16 GiB", "$scrypt$ln=22,r=32,p=16$" + salt + "$" + key, ErrHashTooCostly,
			"scrypt", "128*r*N", 16<<20 + 8, 4 * DefaultMemory, 0, "Config.Limits.Memory"},
		{"scrypt work", "$scrypt$ln=16,r=8,p=16$" + salt + "$" + key, ErrHashTooCostly,
			"scrypt", "N*r*p", 8 * 16 << 16, DefaultScryptWork, 0, "Config.Limits.ScryptWork"},
		{"pbkdf2 10M iterations", "$pbkdf2-sha256$i=10000000$" + salt + "$" + key, ErrHashTooCostly,
			"pbkdf2-sha256", "i", 10_000_000, DefaultPBKDF2Ceiling, 0, "Config.Limits.PBKDF2Iterations"},
		{"django 10M iterations", "pbkdf2_sha256$10000000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", ErrHashTooCostly,
			"pbkdf2_sha256", "iterations", 10_000_000, DefaultPBKDF2Ceiling, 0, "Config.Limits.PBKDF2Iterations"},
		{"argon2 4 GiB", "$argon2id$v=19$m=4194304,t=1000,p=255$" + salt + "$" + key, ErrHashTooCostly,
			"argon2id", "m", 4 << 20, 4 * DefaultMemory, 0, "Config.Limits.Memory"},
		{"argon2 1000 passes", "$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key, ErrHashTooCostly,
			"argon2id", "t", 1000, 4 * DefaultIterations, 0, "Config.Limits.Iterations"},
		{"argon2 255 lanes", "$argon2i$v=19$m=19456,t=2,p=255$" + salt + "$" + key, ErrHashTooCostly,
			"argon2i", "p", 255, 4, 0, "Config.Limits.Parallelism"},
		{"bcrypt cost 18", "$2a$18$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrHashTooCostly,
			"bcrypt", "cost", 18, DefaultBcryptCeiling, 0, "Config.Limits.BcryptCost"},
		{"argon2 4-byte tag", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAAAA", ErrMalformedHash,
			"argon2id", "hash bytes", 4, maxHashLength, minHashLength, ""},
		{"argon2 15-byte tag", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + b64.EncodeToString(make([]byte, 15)), ErrMalformedHash,
			"argon2id", "hash bytes", 15, maxHashLength, minHashLength, ""},
	}
	h, err := New(Config{}) // the default ceilings
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			noWork(t, h)
			err := h.Verify("pw", c.hash)
			require.ErrorIs(t, err, c.want)
			assert.NotErrorIs(t, err, ErrMismatch)
			var pe *ParamError
			require.True(t, errors.As(err, &pe), "a *ParamError, got %T: %v", err, err)
			assert.Equal(t, c.scheme, pe.Scheme)
			assert.Equal(t, c.param, pe.Param)
			assert.Equal(t, c.value, pe.Value)
			assert.Equal(t, c.max, pe.Max)
			assert.Equal(t, c.minv, pe.Min)
			assert.Equal(t, c.setting, pe.Setting)
			assert.Contains(t, err.Error(), c.param+"=")
			if c.setting != "" {
				assert.Contains(t, err.Error(), c.setting, "the error names the setting that raises the ceiling")
			}
			assert.NotContains(t, err.Error(), "pw")
		})
	}
}

func TestLimitsAreConfigurable(t *testing.T) {
	// RFC 7914 §12: N=1024, r=8, p=16 is N·r·p = 131072 units of work.
	const rfc = "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA"
	tight := cheap(t, Config{Limits: Limits{ScryptWork: 131071}})
	noWork(t, tight)
	err := tight.Verify("password", rfc)
	require.ErrorIs(t, err, ErrHashTooCostly)
	assert.EqualError(t, err, "password: scrypt hash parameter N*r*p=131072 is above the ceiling 131071 (Config.Limits.ScryptWork)")

	exact := cheap(t, Config{Limits: Limits{ScryptWork: 131072}})
	require.NoError(t, exact.Verify("password", rfc))

	pb, err := FromPBKDF2Columns("VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw==", "c2FsdA==", 1)
	require.NoError(t, err)
	// RFC 7914's PBKDF2 vector: one iteration, a 64-byte key (two blocks).
	require.NoError(t, cheap(t, Config{Limits: Limits{PBKDF2Iterations: 2}}).Verify("passwd", pb))
	require.ErrorIs(t, cheap(t, Config{Limits: Limits{PBKDF2Iterations: 1}}).Verify("passwd", pb), ErrHashTooCostly)

	// A Hasher always verifies its own hashes: ceilings below its own
	// parameters are refused.
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Memory: 1024, Limits: Limits{Memory: 512}}, "Config.Limits.Memory must be in [Config.Memory=1024, 4194304] KiB, got 512"},
		{Config{Iterations: 3, Limits: Limits{Iterations: 2}}, "Config.Limits.Iterations must be in [Config.Iterations=3, 1000], got 2"},
		{Config{Parallelism: 8, Memory: 64 * 8, Limits: Limits{Parallelism: 4}}, "Config.Limits.Parallelism must be at least Config.Parallelism=8, got 4"},
		{Config{Limits: Limits{BcryptCost: 40}}, "Config.Limits.BcryptCost must be in [4,18], got 40"},
		{Config{Limits: Limits{PBKDF2Iterations: 20_000_000}}, "Config.Limits.PBKDF2Iterations must be at most 10000000"},
		{Config{MaxConcurrent: -1}, "Config.MaxConcurrent must not be negative, got -1"},
	} {
		_, err := New(c.cfg)
		assert.ErrorContains(t, err, c.want)
	}
	h, err := New(Config{})
	require.NoError(t, err)
	assert.Equal(t, Limits{Memory: 77824, Iterations: 8, Parallelism: 4, ArgonWork: 155648, PBKDF2Iterations: 2_000_000, ScryptWork: 1 << 21, BcryptCost: 12}, h.limits)
	assert.Equal(t, runtime.GOMAXPROCS(0), cap(h.slots), "MaxConcurrent defaults to GOMAXPROCS")
}

// The built-in limit on concurrent hashing, tested without timing: the hook
// holds each derivation until the test releases it.
func TestMaxConcurrentBoundsHashesInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := cheap(t, Config{MaxConcurrent: 2})
		stored, err := h.Hash("pw")
		require.NoError(t, err)
		release := make(chan struct{})
		var inside, most atomic.Int32
		h.testHookKDF = func(kdfCall) {
			n := inside.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			inside.Add(-1)
		}
		results := make(chan error, 5)
		for i := range 5 {
			go func() {
				if i%2 == 0 {
					results <- h.Verify("pw", stored)
				} else {
					_, err := h.Hash("pw")
					results <- err
				}
			}()
		}
		synctest.Wait() // every goroutine is in the hook or waiting for a slot
		assert.Equal(t, int32(2), inside.Load(), "two hashes run, three wait for a slot")

		// A caller whose context ends while it waits gives up, naming why.
		ctx, cancel := context.WithCancel(t.Context())
		gaveUp := make(chan error, 1)
		go func() { gaveUp <- h.VerifyContext(ctx, "pw", stored) }()
		synctest.Wait()
		cancel()
		err = <-gaveUp
		require.ErrorIs(t, err, context.Canceled)
		assert.ErrorContains(t, err, "Config.MaxConcurrent=2")
		ctx2, cancel2 := context.WithCancel(t.Context())
		cancel2()
		_, err = h.HashContext(ctx2, "pw")
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, h.VerifyUnknownContext(ctx2, "pw"), context.Canceled)

		close(release)
		for range 5 {
			require.NoError(t, <-results)
		}
		assert.Equal(t, int32(2), most.Load(), "never more than MaxConcurrent at once")
		assert.Zero(t, len(h.slots), "every slot is given back")
	})
}

// VerifyUnknown must do exactly the work of a Verify of a current hash, so
// that login timing does not tell a missing account from a wrong password.
// Compared by the parameters each derivation ran with, not by wall time.
func TestVerifyUnknownDoesTheWorkOfARealVerify(t *testing.T) {
	for name, cfg := range map[string]Config{
		"defaults":  {},
		"peppered":  {Pepper: []byte(strings.Repeat("p", 32)), PepperID: "p1", Memory: 128, Iterations: 3, KeyLength: 48, SaltLength: 24},
		"two lanes": {Memory: 256, Parallelism: 2},
	} {
		t.Run(name, func(t *testing.T) {
			h, err := New(cfg)
			require.NoError(t, err)
			stored, err := h.Hash("correct horse")
			require.NoError(t, err)
			var calls []kdfCall
			h.testHookKDF = func(c kdfCall) { calls = append(calls, c) }

			require.ErrorIs(t, h.Verify("wrong horse", stored), ErrMismatch)
			require.Len(t, calls, 1)
			known := calls[0]
			calls = nil
			require.ErrorIs(t, h.VerifyUnknown("wrong horse"), ErrMismatch)
			require.ErrorIs(t, h.VerifyUnknown("correct horse"), ErrMismatch, "no password matches an unknown user")
			require.Len(t, calls, 2, "one derivation per call")
			assert.Equal(t, known, calls[0])
			assert.Equal(t, known, calls[1])
			assert.Equal(t, "argon2id", known.scheme)
			assert.Equal(t, cfg.PepperID, known.pepperID)

			assert.ErrorIs(t, h.VerifyUnknown(strings.Repeat("x", DefaultMaxLength+1)), ErrTooLong, "the same refusal as Verify")
		})
	}
}

// The ceilings default to four times the larger of the Hasher's own
// parameters and Keel's defaults: a Hasher configured with less memory (or
// fewer passes) than the defaults still verifies the hashes Keel wrote at
// the defaults. Config{Memory: 4096} used to refuse every default hash as
// above its ceiling of 16384 KiB.
func TestLoweredParametersStillVerifyDefaultHashes(t *testing.T) {
	def, err := New(Config{})
	require.NoError(t, err)
	stored, err := def.Hash("pw")
	require.NoError(t, err)

	for _, cfg := range []Config{{Memory: 4096}, {Iterations: 1}, {Memory: 1024, Iterations: 1}} {
		low, err := New(cfg)
		require.NoError(t, err)
		require.NoError(t, low.Verify("pw", stored), "%+v", cfg)
		assert.True(t, low.NeedsRehash(stored) == (cfg.Memory > DefaultMemory || cfg.Iterations > DefaultIterations))
		assert.Equal(t, uint32(4*DefaultMemory), low.limits.Memory)
		assert.Equal(t, uint32(4*DefaultIterations), low.limits.Iterations)
		assert.Equal(t, uint64(4*DefaultMemory*DefaultIterations), low.limits.ArgonWork)
	}
	// Above the defaults, four times the configured parameters.
	high, err := New(Config{Memory: 65536, Iterations: 3})
	require.NoError(t, err)
	assert.Equal(t, Limits{Memory: 4 * 65536, Iterations: 12, Parallelism: 4, ArgonWork: 4 * 65536 * 3,
		PBKDF2Iterations: DefaultPBKDF2Ceiling, ScryptWork: DefaultScryptWork, BcryptCost: DefaultBcryptCeiling}, high.limits)
}

// argon2's work is m × t (KiB of memory filled per pass, times passes;
// lanes share m and add no work). The memory and pass ceilings are each four
// times Keel's own, so together they admitted sixteen times its work; the
// work ceiling (Limits.ArgonWork) bounds the product to four times.
func TestArgonWorkIsBoundedAsAProduct(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E"
	h, err := New(Config{})
	require.NoError(t, err)
	noWork(t, h)
	err = h.Verify("pw", "$argon2id$v=19$m=77824,t=8,p=4$"+salt+"$"+key)
	require.ErrorIs(t, err, ErrHashTooCostly)
	var pe *ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, ParamError{Scheme: "argon2id", Param: "m*t", Value: 77824 * 8, Unit: "KiB", Max: 4 * DefaultMemory * DefaultIterations,
		Setting: "Config.Limits.ArgonWork", kind: ErrHashTooCostly}, *pe)
	assert.EqualError(t, err, "password: argon2id hash parameter m*t=622592 KiB is above the ceiling 155648 (Config.Limits.ArgonWork)")

	// Either parameter alone may reach its own ceiling while the product
	// stays within four times Keel's work (checked without computing).
	for _, hash := range []string{
		"$argon2id$v=19$m=77824,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=8,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=38912,t=4,p=4$" + salt + "$" + key,
	} {
		s, err := parse(hash)
		require.NoError(t, err)
		assert.NoError(t, s.within(&h.limits), hash)
	}
	_, err = New(Config{Memory: 1024, Iterations: 4, Limits: Limits{ArgonWork: 4095}})
	assert.ErrorContains(t, err, "Config.Limits.ArgonWork must be at least Config.Memory × Config.Iterations = 4096, got 4095")
}

// PBKDF2's work is iterations × ceil(keyLen/32): each 32-byte block of the
// derived key runs every iteration. The ceiling counted iterations only, so
// a 128-byte key at the ceiling cost four times as much; it now bounds the
// product.
func TestPBKDF2CeilingCountsKeyBlocks(t *testing.T) {
	const salt = "c29tZXNhbHQ"
	key := func(n int) string { return b64.EncodeToString(make([]byte, n)) }
	h, err := New(Config{})
	require.NoError(t, err)
	noWork(t, h)

	err = h.Verify("pw", "$pbkdf2-sha256$i=2000000$"+salt+"$"+key(128))
	require.ErrorIs(t, err, ErrHashTooCostly)
	assert.EqualError(t, err, "password: pbkdf2-sha256 hash parameter i*blocks=8000000 is above the ceiling 2000000 (Config.Limits.PBKDF2Iterations)")
	err = h.Verify("pw", "$pbkdf2-sha256$i=1000001$"+salt+"$"+key(33))
	assert.ErrorIs(t, err, ErrHashTooCostly, "33 bytes are two blocks")
	err = h.Verify("pw", "pbkdf2_sha256$700000$seasalt$"+base64.StdEncoding.EncodeToString(make([]byte, 96)))
	assert.EqualError(t, err, "password: pbkdf2_sha256 hash parameter iterations*blocks=2100000 is above the ceiling 2000000 (Config.Limits.PBKDF2Iterations)")

	for _, hash := range []string{
		"$pbkdf2-sha256$i=2000000$" + salt + "$" + key(32),
		"$pbkdf2-sha256$i=500000$" + salt + "$" + key(128),
		"$pbkdf2-sha256$i=1000000$" + salt + "$" + key(64),
	} {
		s, err := parse(hash)
		require.NoError(t, err)
		assert.NoError(t, s.within(&h.limits), hash)
	}
}
