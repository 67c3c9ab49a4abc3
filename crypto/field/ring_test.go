package field

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{XChaCha20Poly1305, AES256GCM} {
		t.Run(alg.String(), func(t *testing.T) {
			r := newRing(t, 0, fixedKey(7, alg, 0xA1))
			ctx := Context("customers", "email", "42")
			for _, pt := range [][]byte{nil, {}, []byte("a"), []byte("ann@example.com"), bytes.Repeat([]byte{0xFF}, 4096)} {
				ct, err := r.Encrypt(pt, ctx)
				require.NoError(t, err)
				assert.Len(t, ct, headerSize+alg.nonceSize()+len(pt)+tagSize)
				assert.Equal(t, len(ct), cap(ct), "the AAD scratch space must not be reachable from the result")
				id, err := KeyID(ct)
				require.NoError(t, err)
				assert.Equal(t, uint32(7), id)
				got, err := r.Decrypt(ct, ctx)
				require.NoError(t, err)
				assert.Equal(t, len(pt), len(got))
				assert.True(t, bytes.Equal(pt, got))
			}
		})
	}
}

func TestEncryptIsRandomised(t *testing.T) {
	r := newRing(t, 0, fixedKey(1, 0, 1))
	a, err := r.Encrypt([]byte("same"), nil)
	require.NoError(t, err)
	b, err := r.Encrypt([]byte("same"), nil)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "two encryptions of one value must differ (random nonce)")
}

func TestContextBindsCiphertextToItsRow(t *testing.T) {
	r := newRing(t, 0, fixedKey(1, 0, 1))
	ct, err := r.Encrypt([]byte("ann@example.com"), Context("customers", "email", "42"))
	require.NoError(t, err)
	for _, other := range [][]byte{
		Context("customers", "email", "43"),
		Context("customers", "phone", "42"),
		Context("customersemail", "42"),
		nil,
	} {
		_, err := r.Decrypt(ct, other)
		assert.ErrorIs(t, err, ErrDecrypt)
	}
}

func TestRotationKeepsOldValuesReadable(t *testing.T) {
	k1, k2 := fixedKey(1, 0, 1), fixedKey(2, AES256GCM, 2)
	old := newRing(t, 0, k1)
	ctx := Context("t", "c", "1")
	ct1, err := old.Encrypt([]byte("v1"), ctx)
	require.NoError(t, err)

	// Step 1: the new key is known but not primary — nothing changes for writers.
	staged := newRing(t, 1, k1, k2)
	assert.Equal(t, uint32(1), staged.PrimaryID())
	needs, err := staged.NeedsReencrypt(ct1)
	require.NoError(t, err)
	assert.False(t, needs)

	// Step 2: promoted. Old values still decrypt and are reported for re-keying.
	rotated := newRing(t, 2, k1, k2)
	assert.Equal(t, []uint32{1, 2}, rotated.KeyIDs())
	pt, err := rotated.Decrypt(ct1, ctx)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(pt))
	needs, err = rotated.NeedsReencrypt(ct1)
	require.NoError(t, err)
	assert.True(t, needs)

	ct2, changed, err := rotated.Reencrypt(ct1, ctx)
	require.NoError(t, err)
	assert.True(t, changed)
	id, _ := KeyID(ct2)
	assert.Equal(t, uint32(2), id)
	same, changed, err := rotated.Reencrypt(ct2, ctx)
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Equal(t, ct2, same)

	// Step 3: the old key is retired; re-keyed values still decrypt, old ones do not.
	retired := newRing(t, 0, k2)
	pt, err = retired.Decrypt(ct2, ctx)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(pt))
	_, err = retired.Decrypt(ct1, ctx)
	assert.ErrorIs(t, err, ErrDecrypt)
	assert.ErrorIs(t, err, ErrUnknownKey)

	_, _, err = rotated.Reencrypt(ct1, Context("t", "c", "2"))
	assert.ErrorIs(t, err, ErrDecrypt, "a re-key job authenticates before it rewrites")
}

func TestNewValidatesConfig(t *testing.T) {
	good := fixedKey(1, 0, 1)
	short := Key{ID: 2, Material: NewSecret([]byte("short"))}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no keys", Config{}, "Config.Keys must hold at least one key"},
		{"zero id", Config{Keys: []Key{fixedKey(0, 0, 1)}}, "Config.Keys[0].ID must be non-zero"},
		{"short key", Config{Keys: []Key{good, short}}, "Config.Keys[1].Material must be 32 bytes, got 5"},
		{"bad algorithm", Config{Keys: []Key{fixedKey(1, 9, 1)}}, "Config.Keys[0].Algorithm 9 is unknown"},
		{"duplicate id", Config{Keys: []Key{good, fixedKey(1, 0, 2)}}, "key ID 1 twice"},
		{"unknown primary", Config{Keys: []Key{good}, Primary: 5}, "Config.Primary 5 is not the ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), "field: "))
		})
	}
	r, err := New(Config{Keys: []Key{fixedKey(3, 0, 3), good}})
	require.NoError(t, err)
	assert.Equal(t, uint32(3), r.PrimaryID(), "zero Primary means the highest ID")
}

func TestDecryptErrorRevealsNothingButTheKind(t *testing.T) {
	r := newRing(t, 0, fixedKey(1, 0, 1))
	_, err := r.Decrypt([]byte("garbage"), nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrDecrypt))
	assert.False(t, errors.Is(err, ErrUnknownKey))
	assert.True(t, strings.HasPrefix(err.Error(), "field: "))
}

func TestEncryptStringUsesTheTextForm(t *testing.T) {
	r := newRing(t, 0, fixedKey(1, 0, 1))
	s, err := r.EncryptString("ann@example.com", Context("c"))
	require.NoError(t, err)
	assert.NotContains(t, s, "=")
	assert.NotContains(t, s, "+")
	got, err := r.DecryptString(s, Context("c"))
	require.NoError(t, err)
	assert.Equal(t, "ann@example.com", got)
	_, err = r.DecryptString("!!not base64!!", Context("c"))
	assert.ErrorIs(t, err, ErrDecrypt)
}

func TestContextIsUnambiguous(t *testing.T) {
	assert.NotEqual(t, Context("ab", "c"), Context("a", "bc"))
	assert.NotEqual(t, Context("a"), Context("a", ""))
	assert.Equal(t, Context("t", "c", "1"), Context("t", "c", "1"))
}

func TestNeedsReencryptRejectsMalformedValues(t *testing.T) {
	r := newRing(t, 0, fixedKey(1, 0, 1))
	for _, ct := range [][]byte{nil, {1}, {1, 1, 0, 0, 0, 1}, {9, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		_, err := r.NeedsReencrypt(ct)
		assert.ErrorIs(t, err, ErrDecrypt)
		_, err = KeyID(ct)
		assert.ErrorIs(t, err, ErrDecrypt)
	}
}
