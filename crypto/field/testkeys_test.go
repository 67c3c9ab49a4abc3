package field

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// fixedKey returns a key whose material is 32 copies of b: tests need keys
// that differ and are reproducible, not secret.
func fixedKey(id uint32, alg Algorithm, b byte) Key {
	return Key{ID: id, Algorithm: alg, Material: NewSecret(bytes.Repeat([]byte{b}, KeySize))}
}

func newRing(t testing.TB, primary uint32, keys ...Key) *Ring {
	t.Helper()
	r, err := New(Config{Keys: keys, Primary: primary})
	require.NoError(t, err)
	return r
}
