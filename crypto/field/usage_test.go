package field

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue #16 item 4: AES-256-GCM with random 96-bit nonces allows 2^32
// encryptions per key; the ring counts them, reports a key at half the limit
// and refuses to encrypt past it. Counts start from Config.Encryptions, so
// no test needs 2^31 encryptions.
func TestRingTellsWhenAGCMKeyNearsItsLimit(t *testing.T) {
	var reported []KeyUsage
	r, err := New(Config{
		Keys:        []Key{fixedKey(1, XChaCha20Poly1305, 1), fixedKey(2, AES256GCM, 2)},
		Primary:     2,
		Encryptions: map[uint32]uint64{1: 1 << 40, 2: GCMMessageLimit/2 - 2},
		NearLimit:   func(u KeyUsage) { reported = append(reported, u) },
	})
	require.NoError(t, err)
	_, err = r.Encrypt([]byte("a"), nil)
	require.NoError(t, err)
	assert.Empty(t, reported, "below half the limit")
	assert.False(t, r.Usage()[1].NearLimit())
	for range 3 {
		_, err = r.Encrypt([]byte("b"), nil)
		require.NoError(t, err)
	}
	require.Len(t, reported, 1, "reported once, when the count reaches half the limit")
	assert.Equal(t, KeyUsage{ID: 2, Algorithm: AES256GCM, Encryptions: GCMMessageLimit / 2, Limit: GCMMessageLimit}, reported[0])
	usage := r.Usage()
	assert.Equal(t, KeyUsage{ID: 1, Algorithm: XChaCha20Poly1305, Encryptions: 1 << 40}, usage[0], "XChaCha20-Poly1305 has no limit")
	assert.False(t, usage[0].NearLimit())
	assert.Equal(t, GCMMessageLimit/2+2, usage[1].Encryptions)
	assert.True(t, usage[1].NearLimit())

	// At the limit, encryption under the key is refused; decryption goes on.
	full := newRingWith(t, Config{Keys: []Key{fixedKey(2, AES256GCM, 2)}, Encryptions: map[uint32]uint64{2: GCMMessageLimit - 1}})
	last, err := full.Encrypt([]byte("last"), nil)
	require.NoError(t, err)
	_, err = full.Encrypt([]byte("one too many"), nil)
	require.ErrorIs(t, err, ErrKeyExhausted)
	assert.ErrorContains(t, err, "key 2, aes-256-gcm, limit 4294967296")
	pt, err := full.Decrypt(last, nil)
	require.NoError(t, err)
	assert.Equal(t, "last", string(pt))
	_, _, err = full.Reencrypt(last, nil)
	assert.NoError(t, err, "a value already under the primary is not re-encrypted")

	// XChaCha20-Poly1305 keys are counted but never refused.
	x := newRingWith(t, Config{Keys: []Key{fixedKey(1, 0, 1)}, Encryptions: map[uint32]uint64{1: GCMMessageLimit * 4}})
	_, err = x.Encrypt([]byte("v"), nil)
	assert.NoError(t, err)

	_, err = New(Config{Keys: []Key{fixedKey(1, 0, 1)}, Encryptions: map[uint32]uint64{7: 1}})
	assert.ErrorContains(t, err, "Config.Encryptions names key ID 7")
}

func newRingWith(t *testing.T, cfg Config) *Ring {
	t.Helper()
	r, err := New(cfg)
	require.NoError(t, err)
	return r
}

// A RingFile carries the counts over a reload, so a SIGHUP does not reset
// them.
func TestRingFileKeepsCountingAcrossReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := GenerateKeyset(AES256GCM)
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))
	rf, err := OpenRingFile(path)
	require.NoError(t, err)
	for range 3 {
		_, err := rf.Encrypt([]byte("v"), nil)
		require.NoError(t, err)
	}
	_, err = ks.Rotate(XChaCha20Poly1305, false) // staged: key 1 stays primary
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))
	require.NoError(t, rf.Reload())
	_, err = rf.Encrypt([]byte("v"), nil)
	require.NoError(t, err)
	assert.Equal(t, []KeyUsage{
		{ID: 1, Algorithm: AES256GCM, Encryptions: 4, Limit: GCMMessageLimit},
		{ID: 2, Algorithm: XChaCha20Poly1305},
	}, rf.Ring().Usage())
}

// Config.Encryptions near 2^64 wrapped the counter: a key recorded as far
// past its limit encrypted again, and its usage read 0. The count now never
// wraps: a count at or past the limit is an exhausted key (it still
// decrypts: counts past the limit are what a fleet's sums can hold, so they
// are not refused), refused encryptions do not count, and a key without a
// limit stops counting at 2^64-1.
func TestEncryptionCountsNeverWrap(t *testing.T) {
	const maxU64 = ^uint64(0)
	gcm := newRingWith(t, Config{Keys: []Key{fixedKey(2, AES256GCM, 2)}, Encryptions: map[uint32]uint64{2: maxU64}})
	for range 3 {
		_, err := gcm.Encrypt([]byte("x"), nil)
		require.ErrorIs(t, err, ErrKeyExhausted)
	}
	assert.Equal(t, maxU64, gcm.Usage()[0].Encryptions, "refused encryptions are not counted, and nothing wraps")
	assert.True(t, gcm.Usage()[0].NearLimit())

	past := newRingWith(t, Config{Keys: []Key{fixedKey(2, AES256GCM, 2)}, Encryptions: map[uint32]uint64{2: GCMMessageLimit + 10}})
	_, err := past.Encrypt([]byte("x"), nil)
	require.ErrorIs(t, err, ErrKeyExhausted)
	assert.Equal(t, GCMMessageLimit+10, past.Usage()[0].Encryptions)

	at := newRingWith(t, Config{Keys: []Key{fixedKey(2, AES256GCM, 2)}, Encryptions: map[uint32]uint64{2: GCMMessageLimit}})
	_, err = at.Encrypt([]byte("x"), nil)
	require.ErrorIs(t, err, ErrKeyExhausted)
	assert.Equal(t, GCMMessageLimit, at.Usage()[0].Encryptions)

	x := newRingWith(t, Config{Keys: []Key{fixedKey(1, XChaCha20Poly1305, 1)}, Encryptions: map[uint32]uint64{1: maxU64}})
	ct, err := x.Encrypt([]byte("x"), nil)
	require.NoError(t, err, "no limit")
	assert.Equal(t, maxU64, x.Usage()[0].Encryptions, "saturates")
	pt, err := x.Decrypt(ct, nil)
	require.NoError(t, err)
	assert.Equal(t, "x", string(pt))
}
