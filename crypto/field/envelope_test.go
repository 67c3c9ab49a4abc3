package field

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvelopeRoundTripAndRewrap(t *testing.T) {
	bg := context.Background()
	k1, k2 := fixedKey(1, 0, 1), fixedKey(2, 0, 2)
	kek1, err := NewLocalKEK(newRing(t, 0, k1))
	require.NoError(t, err)
	env1, err := NewEnvelope(kek1)
	require.NoError(t, err)
	ctx := Context("orders", "card", "7")

	ct, err := env1.Encrypt(bg, []byte("4111111111111111"), ctx)
	require.NoError(t, err)
	pt, err := env1.Decrypt(bg, ct, ctx)
	require.NoError(t, err)
	assert.Equal(t, "4111111111111111", string(pt))
	other, err := env1.Encrypt(bg, []byte("4111111111111111"), ctx)
	require.NoError(t, err)
	assert.NotEqual(t, ct[4:60], other[4:60], "every value gets its own data key")

	// KEK rotation: rewrap under the new primary, then drop the old KEK key.
	kek12, err := NewLocalKEK(newRing(t, 2, k1, k2))
	require.NoError(t, err)
	env12, err := NewEnvelope(kek12)
	require.NoError(t, err)
	rewrapped, err := env12.Rewrap(bg, ct, ctx)
	require.NoError(t, err)
	assert.Equal(t, ct[len(ct)-40:], rewrapped[len(rewrapped)-40:], "the data itself is not re-encrypted")

	kek2, err := NewLocalKEK(newRing(t, 0, k2))
	require.NoError(t, err)
	env2, err := NewEnvelope(kek2)
	require.NoError(t, err)
	pt, err = env2.Decrypt(bg, rewrapped, ctx)
	require.NoError(t, err)
	assert.Equal(t, "4111111111111111", string(pt))
	_, err = env2.Decrypt(bg, ct, ctx)
	assert.ErrorIs(t, err, ErrDecrypt)
	assert.ErrorIs(t, err, ErrUnknownKey)
	_, err = env12.Rewrap(bg, ct, Context("orders", "card", "8"))
	assert.ErrorIs(t, err, ErrDecrypt)
}

// failingKEK stands for a KMS that is down.
type failingKEK struct{ err error }

func (f failingKEK) WrapKey(context.Context, []byte, []byte) ([]byte, error)   { return nil, f.err }
func (f failingKEK) UnwrapKey(context.Context, []byte, []byte) ([]byte, error) { return nil, f.err }

func TestEnvelopeReportsKEKOutagesAsSuch(t *testing.T) {
	bg := context.Background()
	kek, err := NewLocalKEK(newRing(t, 0, fixedKey(1, 0, 1)))
	require.NoError(t, err)
	env, err := NewEnvelope(kek)
	require.NoError(t, err)
	ct, err := env.Encrypt(bg, []byte("x"), nil)
	require.NoError(t, err)

	outage := errors.New("kms: unavailable")
	down, err := NewEnvelope(failingKEK{err: outage})
	require.NoError(t, err)
	_, err = down.Decrypt(bg, ct, nil)
	assert.ErrorIs(t, err, outage)
	assert.NotErrorIs(t, err, ErrDecrypt, "an outage is retryable, not a bad ciphertext")
	_, err = down.Encrypt(bg, []byte("x"), nil)
	assert.ErrorIs(t, err, outage)

	_, err = NewEnvelope(nil)
	assert.Error(t, err)
	_, err = NewLocalKEK(nil)
	assert.Error(t, err)
}

func TestDeriveKey(t *testing.T) {
	root := indexKey(3)
	a, err := DeriveKey(root, "purpose a")
	require.NoError(t, err)
	a2, err := DeriveKey(root, "purpose a")
	require.NoError(t, err)
	b, err := DeriveKey(root, "purpose b")
	require.NoError(t, err)
	assert.Equal(t, a.Reveal(), a2.Reveal())
	assert.NotEqual(t, a.Reveal(), b.Reveal())
	assert.Len(t, a.Reveal(), KeySize)
	_, err = DeriveKey(NewSecret([]byte("short")), "p")
	assert.Error(t, err)
	_, err = DeriveKey(root, "")
	assert.Error(t, err)
}
