package fernet

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/crypto/field"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTripAndTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := GenerateKey()
		require.NoError(t, err)
		for _, msg := range []string{"", "a", "exactly 16 bytes", strings.Repeat("x", 1000)} {
			tok, err := Encrypt(k, []byte(msg))
			require.NoError(t, err)
			got, err := Decrypt(tok, time.Minute, k)
			require.NoError(t, err)
			assert.Equal(t, msg, string(got))
		}
		tok, err := Encrypt(k, []byte("hello"))
		require.NoError(t, err)
		made, err := TimestampOf(tok, k)
		require.NoError(t, err)
		assert.Equal(t, time.Now().Unix(), made.Unix())

		time.Sleep(60 * time.Second) // fake time: synctest
		_, err = Decrypt(tok, time.Minute, k)
		require.NoError(t, err, "exactly at the TTL the token is still valid (as in Python)")
		time.Sleep(time.Second)
		_, err = Decrypt(tok, time.Minute, k)
		assert.ErrorIs(t, err, ErrExpired)
		assert.ErrorIs(t, err, field.ErrDecrypt)
		got, err := Decrypt(tok, 0, k)
		require.NoError(t, err, "no TTL, no time check")
		assert.Equal(t, "hello", string(got))

		future, err := EncryptAtTime(k, []byte("f"), time.Now().Add(2*MaxClockSkew))
		require.NoError(t, err)
		_, err = Decrypt(future, time.Hour, k)
		assert.ErrorIs(t, err, field.ErrDecrypt)
		assert.NotErrorIs(t, err, ErrExpired)
		nearFuture, err := EncryptAtTime(k, []byte("f"), time.Now().Add(MaxClockSkew))
		require.NoError(t, err)
		_, err = Decrypt(nearFuture, time.Hour, k)
		assert.NoError(t, err, "up to MaxClockSkew ahead is tolerated")
	})
}

func TestMultipleKeysAndRotate(t *testing.T) {
	oldKey, err := GenerateKey()
	require.NoError(t, err)
	newKey, err := GenerateKey()
	require.NoError(t, err)
	made := time.Unix(1_700_000_000, 0)
	tok, err := EncryptAtTime(oldKey, []byte("v"), made)
	require.NoError(t, err)

	_, err = Decrypt(tok, 0, newKey)
	assert.ErrorIs(t, err, field.ErrDecrypt)
	got, err := Decrypt(tok, 0, newKey, oldKey)
	require.NoError(t, err)
	assert.Equal(t, "v", string(got))

	rotated, err := Rotate(tok, newKey, oldKey)
	require.NoError(t, err)
	got, err = Decrypt(rotated, 0, newKey)
	require.NoError(t, err)
	assert.Equal(t, "v", string(got))
	ts, err := TimestampOf(rotated, newKey)
	require.NoError(t, err)
	assert.True(t, made.Equal(ts), "rotation keeps the original timestamp")

	_, err = Decrypt(tok, 0)
	assert.Error(t, err)
}

func TestTamperedTokensFail(t *testing.T) {
	k, err := GenerateKey()
	require.NoError(t, err)
	tok, err := Encrypt(k, []byte("attack at dawn"))
	require.NoError(t, err)
	raw, err := base64.URLEncoding.DecodeString(tok)
	require.NoError(t, err)
	for i := range raw {
		for _, mask := range []byte{0x01, 0x80} {
			c := append([]byte(nil), raw...)
			c[i] ^= mask
			_, err := Decrypt(base64.URLEncoding.EncodeToString(c), 0, k)
			require.ErrorIs(t, err, field.ErrDecrypt, "byte %d", i)
		}
	}
	for n := range raw {
		_, err := Decrypt(base64.URLEncoding.EncodeToString(raw[:n]), 0, k)
		require.ErrorIs(t, err, field.ErrDecrypt, "truncated to %d", n)
	}
	_, err = Decrypt(tok+"\n", 0, k)
	assert.ErrorIs(t, err, field.ErrDecrypt)
	unpadded := strings.TrimRight(tok, "=")
	_, err = Decrypt(unpadded, 0, k)
	assert.NoError(t, err, "unpadded base64url is accepted")
}

func TestKeyEncodingAndRedaction(t *testing.T) {
	k, err := GenerateKey()
	require.NoError(t, err)
	enc := k.Encode()
	again, err := DecodeKey(enc)
	require.NoError(t, err)
	assert.Equal(t, k, again)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		assert.Equal(t, field.Redacted, fmt.Sprintf(verb, k), verb)
	}
	_, err = DecodeKey("c2hvcnQ=")
	assert.Error(t, err)
	_, err = DecodeKey("!!")
	assert.Error(t, err)
}

func FuzzDecrypt(f *testing.F) {
	k, _ := DecodeKey("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")
	f.Add("gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==")
	f.Add("gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPA==")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		msg, err := DecryptAtTime(tok, time.Minute, time.Unix(499162801, 0), k)
		if err == nil && len(msg) > len(tok) {
			t.Fatal("message longer than its token")
		}
		_, _ = DecodeKey(tok)
	})
}
