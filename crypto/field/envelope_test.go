package field

import (
	"bytes"
	"context"
	"encoding/hex"
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

// Issue #16 item 4: the data key was wrapped with the same ring and the same
// context as application values, so ring.Decrypt(wrapped, ctx) — what the
// application does with any column value — returned the raw data key.
// localEnvelope is an Envelope over a LocalKEK whose ring is returned too,
// as an application that also encrypts values with that ring would hold it.
func localEnvelope(t *testing.T) (*Ring, *Envelope) {
	t.Helper()
	ring := newRing(t, 0, fixedKey(1, 0, 1))
	kek, err := NewLocalKEK(ring)
	require.NoError(t, err)
	env, err := NewEnvelope(kek)
	require.NoError(t, err)
	return ring, env
}

func TestEnvelopeWrappedKeyIsNotADecryptableRingValue(t *testing.T) {
	bg := context.Background()
	ring, env := localEnvelope(t)
	ctx := Context("orders", "card", "7")
	ct, err := env.Encrypt(bg, []byte("4111111111111111"), ctx)
	require.NoError(t, err)
	require.Equal(t, byte(0x03), ct[0], "the current envelope format")
	assert.False(t, IsLegacyEnvelope(ct))

	wrapped, _, _, err := parseEnvelope(ct)
	require.NoError(t, err)
	dek, err := ring.Decrypt(wrapped, ctx)
	assert.ErrorIs(t, err, ErrDecrypt, "the wrapped key does not open as an application value")
	assert.Nil(t, dek)
	_, err = ring.Decrypt(wrapped, nil)
	assert.ErrorIs(t, err, ErrDecrypt)
	// It opens only under the domain-separated wrap context.
	dek, err = ring.Decrypt(wrapped, append([]byte(WrapContextPrefix), ctx...))
	require.NoError(t, err)
	assert.Len(t, dek, KeySize)

	pt, err := env.Decrypt(bg, ct, ctx)
	require.NoError(t, err)
	assert.Equal(t, "4111111111111111", string(pt))
}

// legacyEnvelope was written by Envelope.Encrypt before the wrap was
// domain-separated (format 0x02): LocalKEK over fixedKey(1, 0, 1), plaintext
// "4111111111111111", context Context("orders", "card", "7").
const legacyEnvelope = "0201004e0101000000018abf9e8687807ac145cdf7e9905cea079c0a48bdfb43ec599187477d7364928a88a7a9269858e2e2cf1ed99d6f9862884e699922381228c58be09991f38183e656bddb7e41de6ece69f08785dd9dff30dbd38ae7baa915f651b46a52ec4a6349623e9cdc9e1ae2afd759fef20c1f36243af035ba8133f5346eec1ed7132b3732"

func TestEnvelopeReadsLegacyValuesAndRewrapUpgradesThem(t *testing.T) {
	bg := context.Background()
	ring, env := localEnvelope(t)
	ctx := Context("orders", "card", "7")
	legacy, err := hex.DecodeString(legacyEnvelope)
	require.NoError(t, err)
	require.True(t, IsLegacyEnvelope(legacy))

	pt, err := env.Decrypt(bg, legacy, ctx)
	require.NoError(t, err, "values written before the change still decrypt")
	assert.Equal(t, "4111111111111111", string(pt))
	_, err = env.Decrypt(bg, legacy, Context("orders", "card", "8"))
	assert.ErrorIs(t, err, ErrDecrypt)

	// Relabelling a legacy value as current fails: the format byte is
	// authenticated with the data, and the wrap contexts differ.
	relabelled := bytes.Clone(legacy)
	relabelled[0] = 0x03
	_, err = env.Decrypt(bg, relabelled, ctx)
	assert.ErrorIs(t, err, ErrDecrypt)

	upgraded, err := env.Rewrap(bg, legacy, ctx)
	require.NoError(t, err)
	assert.False(t, IsLegacyEnvelope(upgraded))
	assert.Equal(t, byte(0x03), upgraded[0])
	oldWrapped, oldNonce, _, _ := parseEnvelope(legacy)
	newWrapped, newNonce, _, _ := parseEnvelope(upgraded)
	oldDEK, err := ring.Decrypt(oldWrapped, ctx)
	require.NoError(t, err)
	newDEK, err := ring.Decrypt(newWrapped, append([]byte(WrapContextPrefix), ctx...))
	require.NoError(t, err)
	assert.NotEqual(t, oldDEK, newDEK, "a legacy data key, possibly exposed, is not reused")
	assert.NotEqual(t, oldNonce, newNonce)
	pt, err = env.Decrypt(bg, upgraded, ctx)
	require.NoError(t, err)
	assert.Equal(t, "4111111111111111", string(pt))
}
