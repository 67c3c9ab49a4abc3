package field

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func indexKey(b byte) Secret[[]byte] {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b
	}
	return NewSecret(k)
}

func TestBlindIndexMatchesItsSpecification(t *testing.T) {
	// Recompute from the definition in docs/FORMATS.md with the standard
	// library: sub-key = HKDF-SHA256(root, info "keel.field.blind-index/v1 " + name),
	// value = first Bits bits of HMAC-SHA256(sub-key, normalised value).
	root := indexKey(7)
	sub, err := hkdf.Key(sha256.New, root.Reveal(), nil, "keel.field.blind-index/v1 customers.email", 32)
	require.NoError(t, err)
	m := hmac.New(sha256.New, sub)
	m.Write([]byte("ann@example.com"))
	full := m.Sum(nil)

	for _, bits := range []int{1, 7, 8, 12, 16, 32, 255, 256} {
		b, err := NewBlindIndex(IndexConfig{Key: root, Name: "customers.email", Bits: bits, Normalize: NormalizeEmail})
		require.NoError(t, err)
		got := b.Sum("  Ann@Example.COM ")
		want := append([]byte(nil), full[:(bits+7)/8]...)
		if rem := bits % 8; rem != 0 {
			want[len(want)-1] &= byte(0xFF << (8 - rem))
		}
		assert.Equal(t, want, got, "bits=%d", bits)
		assert.Equal(t, b.Size(), len(got))
		assert.Equal(t, bits, b.Bits())
	}
}

func TestBlindIndexSeparatesNamesKeysAndCompounds(t *testing.T) {
	mk := func(key Secret[[]byte], name string) *BlindIndex {
		b, err := NewBlindIndex(IndexConfig{Key: key, Name: name, Bits: 256})
		require.NoError(t, err)
		return b
	}
	email := mk(indexKey(1), "customers.email")
	assert.Equal(t, email.Sum("a"), email.Sum("a"), "deterministic")
	assert.NotEqual(t, email.Sum("a"), email.Sum("b"))
	assert.NotEqual(t, email.Sum("a"), mk(indexKey(1), "customers.phone").Sum("a"), "one sub-key per index")
	assert.NotEqual(t, email.Sum("a"), mk(indexKey(2), "customers.email").Sum("a"), "the key matters")
	assert.NotEqual(t, email.Compound("ab", "c"), email.Compound("a", "bc"), "compound parts are length-prefixed")
	assert.Equal(t, email.Compound("smith", "1980"), email.Compound("smith", "1980"))

	buf := make([]byte, 0, 64)
	out := email.Append(buf, "a")
	assert.Equal(t, email.Sum("a"), out)
	if !raceEnabled {
		assert.Zero(t, testing.AllocsPerRun(100, func() { out = email.Append(buf[:0], "ann@example.com") }), "Append into a big enough buffer does not allocate")
	}
}

func TestNewBlindIndexValidates(t *testing.T) {
	cases := []struct {
		cfg  IndexConfig
		want string
	}{
		{IndexConfig{Name: "x"}, "IndexConfig.Key must be 32 bytes, got 0"},
		{IndexConfig{Key: indexKey(1)}, "IndexConfig.Name must not be empty"},
		{IndexConfig{Key: indexKey(1), Name: "x", Bits: 257}, "IndexConfig.Bits must be in [1,256], got 257"},
		{IndexConfig{Key: indexKey(1), Name: "x", Bits: -1}, "IndexConfig.Bits must be in [1,256], got -1"},
	}
	for _, c := range cases {
		_, err := NewBlindIndex(c.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
	}
	b, err := NewBlindIndex(IndexConfig{Key: indexKey(1), Name: "x"})
	require.NoError(t, err)
	assert.Equal(t, 32, b.Bits(), "zero Bits means 32")
}

func TestSafeIndexBits(t *testing.T) {
	cases := []struct {
		rows     uint64
		min, max int
		ok       bool
	}{
		{10, 0, 0, false},
		{16, 3, 3, true},          // log2 = 4: 2 < L ≤ 3
		{1_000_000, 10, 18, true}, // log2 ≈ 19.93
		{1 << 32, 17, 31, true},
	}
	for _, c := range cases {
		lo, hi, ok := SafeIndexBits(c.rows)
		assert.Equal(t, c.ok, ok, "rows=%d", c.rows)
		if c.ok {
			assert.Equal(t, c.min, lo, "rows=%d", c.rows)
			assert.Equal(t, c.max, hi, "rows=%d", c.rows)
		}
	}
}

func TestNormalizers(t *testing.T) {
	assert.Equal(t, "ann@example.com", NormalizeEmail("  Ann@Example.COM\n"))
	assert.Equal(t, "4915112345678", NormalizeDigits("+49 (151) 123-456 78"))
	assert.Equal(t, "ann marie smith", NormalizeText("  Ann \t Marie\nSMITH "))
}
