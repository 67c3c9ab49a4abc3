package field

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// Wycheproof-style tamper tests: every single-byte change, every bit flip,
// every truncation and every extension of a valid ciphertext, and every swap
// of key id, algorithm, format and context, must fail with ErrDecrypt.

func tamperCases(ct []byte) map[string][]byte {
	cases := map[string][]byte{}
	for i := range ct {
		for _, mask := range []byte{0x01, 0x80, 0xFF} {
			c := append([]byte(nil), ct...)
			c[i] ^= mask
			cases["flip byte "+strconv.Itoa(i)+" mask "+strconv.Itoa(int(mask))] = c
		}
	}
	for n := 0; n < len(ct); n++ {
		cases["truncate to "+strconv.Itoa(n)] = append([]byte(nil), ct[:n]...)
	}
	cases["append a byte"] = append(append([]byte(nil), ct...), 0)
	cases["append a tag"] = append(append([]byte(nil), ct...), make([]byte, tagSize)...)
	return cases
}

func TestRingCiphertextTampering(t *testing.T) {
	for _, alg := range []Algorithm{XChaCha20Poly1305, AES256GCM} {
		t.Run(alg.String(), func(t *testing.T) {
			// Two keys of both algorithms, so that a swapped key id or
			// algorithm byte names a key the ring really holds.
			r := newRing(t, 1, fixedKey(1, alg, 1), fixedKey(2, alg, 2), fixedKey(3, otherAlg(alg), 3))
			ctx := Context("customers", "email", "42")
			ct, err := r.Encrypt([]byte("ann@example.com"), ctx)
			require.NoError(t, err)

			for name, c := range tamperCases(ct) {
				_, err := r.Decrypt(c, ctx)
				require.ErrorIs(t, err, ErrDecrypt, name)
			}
			swaps := map[string]func(c []byte){
				"key id to another key":      func(c []byte) { binary.BigEndian.PutUint32(c[2:6], 2) },
				"key id to other-alg key":    func(c []byte) { binary.BigEndian.PutUint32(c[2:6], 3) },
				"key id to zero":             func(c []byte) { binary.BigEndian.PutUint32(c[2:6], 0) },
				"algorithm to the other one": func(c []byte) { c[1] = byte(otherAlg(alg)) },
				"format to envelope":         func(c []byte) { c[0] = formatEnvelope },
				"format to unknown":          func(c []byte) { c[0] = 0x7F },
			}
			for name, swap := range swaps {
				c := append([]byte(nil), ct...)
				swap(c)
				_, err := r.Decrypt(c, ctx)
				require.ErrorIs(t, err, ErrDecrypt, name)
			}
			for _, other := range [][]byte{nil, Context("customers", "email", "43"), append(append([]byte(nil), ctx...), 0), ctx[:len(ctx)-1]} {
				_, err := r.Decrypt(ct, other)
				require.ErrorIs(t, err, ErrDecrypt, "context swap")
			}
			// The untouched ciphertext still decrypts: the cases above failed
			// because of the change, not because the key was wrong.
			_, err = r.Decrypt(ct, ctx)
			require.NoError(t, err)
		})
	}
}

func otherAlg(a Algorithm) Algorithm {
	if a == AES256GCM {
		return XChaCha20Poly1305
	}
	return AES256GCM
}

func TestEnvelopeCiphertextTampering(t *testing.T) {
	kek, err := NewLocalKEK(newRing(t, 0, fixedKey(1, 0, 9)))
	require.NoError(t, err)
	env, err := NewEnvelope(kek)
	require.NoError(t, err)
	ctx := Context("orders", "card", "7")
	bg := context.Background()
	ct, err := env.Encrypt(bg, []byte("4111111111111111"), ctx)
	require.NoError(t, err)

	for name, c := range tamperCases(ct) {
		_, err := env.Decrypt(bg, c, ctx)
		require.ErrorIs(t, err, ErrDecrypt, name)
	}
	_, err = env.Decrypt(bg, ct, Context("orders", "card", "8"))
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = env.Decrypt(bg, ct, ctx)
	require.NoError(t, err)
}
