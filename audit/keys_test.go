package audit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKeys(t *testing.T) {
	key := testKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	got, err := ParsePrivateKey(privPEM)
	require.NoError(t, err)
	assert.Equal(t, key, got)

	der, err = x509.MarshalPKIXPublicKey(pub(key))
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	p, err := ParsePublicKey(pubPEM)
	require.NoError(t, err)
	assert.Equal(t, pub(key), p)
	p, err = ParsePublicKey([]byte(base64.StdEncoding.EncodeToString(pub(key)) + "\n"))
	require.NoError(t, err)
	assert.Equal(t, pub(key), p)

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	ecPubDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	require.NoError(t, err)
	tests := []struct {
		name string
		fn   func() error
		want string
	}{
		{"private not PEM", func() error { _, err := ParsePrivateKey([]byte("nope")); return err }, "PEM"},
		{"private not PKCS8", func() error {
			_, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}))
			return err
		}, "PKCS #8"},
		{"private not Ed25519", func() error {
			_, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
			return err
		}, "not Ed25519"},
		{"public not Ed25519", func() error {
			_, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPubDER}))
			return err
		}, "not Ed25519"},
		{"public short base64", func() error { _, err := ParsePublicKey([]byte("AAAA")); return err }, "32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(key.Seed())[:8])
		})
	}
}
