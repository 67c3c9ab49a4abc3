package field

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"strings"
	"sync"
	"unicode"
)

// IndexConfig configures a BlindIndex.
type IndexConfig struct {
	// Key is the root index key (Keyset.IndexKey), 32 bytes. Each index uses
	// its own sub-key derived from it and Name, so indexes of different
	// columns never share values. It must not be a data key.
	Key Secret[[]byte]
	// Name identifies the index, e.g. "customers.email". Required. Changing
	// it changes every index value.
	Name string
	// Bits is how many bits of HMAC-SHA256 to keep, 1..256. Zero means 32.
	// Fewer bits mean more false positives (filtered after decryption) and
	// less leakage; see SafeIndexBits for the sizing rule.
	Bits int
	// Normalize, if set, is applied to each value before hashing, so that
	// "Ann@Example.com " and "ann@example.com" find the same row. Use the
	// same function when writing and when searching.
	Normalize func(string) string
}

// BlindIndex computes keyed, truncated hashes of values for equality search
// over encrypted columns: store Sum(value) in an indexed column next to the
// ciphertext, search with WHERE idx = Sum(query), then decrypt the matching
// rows and drop the false positives whose plaintext differs. It is safe for
// concurrent use.
type BlindIndex struct {
	bits      int
	normalize func(string) string
	pool      sync.Pool // *indexState
}

type indexState struct {
	mac     hash.Hash
	scratch []byte
}

// NewBlindIndex validates cfg and returns a BlindIndex.
func NewBlindIndex(cfg IndexConfig) (*BlindIndex, error) {
	if n := len(cfg.Key.Reveal()); n != KeySize {
		return nil, fmt.Errorf("field: IndexConfig.Key must be %d bytes, got %d", KeySize, n)
	}
	if cfg.Name == "" {
		return nil, fmt.Errorf("field: IndexConfig.Name must not be empty")
	}
	if cfg.Bits == 0 {
		cfg.Bits = 32
	}
	if cfg.Bits < 1 || cfg.Bits > 256 {
		return nil, fmt.Errorf("field: IndexConfig.Bits must be in [1,256], got %d", cfg.Bits)
	}
	sub, err := DeriveKey(cfg.Key, "keel.field.blind-index/v1 "+cfg.Name)
	if err != nil {
		return nil, err
	}
	key := sub.Reveal()
	b := &BlindIndex{bits: cfg.Bits, normalize: cfg.Normalize}
	b.pool.New = func() any { return &indexState{mac: hmac.New(sha256.New, key)} }
	return b, nil
}

// Bits returns the number of bits kept.
func (b *BlindIndex) Bits() int { return b.bits }

// Size returns the length in bytes of an index value: ceil(Bits/8).
func (b *BlindIndex) Size() int { return (b.bits + 7) / 8 }

// Sum returns the index value of one field: the first Bits bits of
// HMAC-SHA256(index key, normalised value), in Size bytes, unused low bits of
// the last byte zero.
func (b *BlindIndex) Sum(value string) []byte { return b.Append(nil, value) }

// Append appends the index value of value to dst; with a dst of enough
// capacity it does not allocate.
func (b *BlindIndex) Append(dst []byte, value string) []byte {
	st := b.pool.Get().(*indexState)
	if b.normalize != nil {
		value = b.normalize(value)
	}
	st.scratch = append(st.scratch[:0], value...)
	st.mac.Reset()
	st.mac.Write(st.scratch)
	dst = b.truncate(dst, st)
	b.pool.Put(st)
	return dst
}

// Compound returns the index value of several fields together (a compound
// index, e.g. last name + birth year). Each part is normalised and
// length-prefixed, so ("ab","c") and ("a","bc") differ.
func (b *BlindIndex) Compound(values ...string) []byte {
	st := b.pool.Get().(*indexState)
	st.scratch = st.scratch[:0]
	for _, v := range values {
		if b.normalize != nil {
			v = b.normalize(v)
		}
		st.scratch = binary.AppendUvarint(st.scratch, uint64(len(v)))
		st.scratch = append(st.scratch, v...)
	}
	st.mac.Reset()
	st.mac.Write(st.scratch)
	out := b.truncate(nil, st)
	b.pool.Put(st)
	return out
}

func (b *BlindIndex) truncate(dst []byte, st *indexState) []byte {
	var sum [sha256.Size]byte
	full := st.mac.Sum(st.scratch[:0]) // reuse scratch as the output buffer
	copy(sum[:], full)
	st.scratch = full[:0]
	n := b.Size()
	if rem := b.bits % 8; rem != 0 {
		sum[n-1] &= byte(0xFF << (8 - rem))
	}
	return append(dst, sum[:n]...)
}

// SafeIndexBits returns the range of total blind-index bits that CipherSweet's
// sizing rule allows for a column expected to hold rows values. With L bits
// in total over all blind indexes of one column, each index value is shared
// by about C = rows / 2^L rows ("coincidences"). The rule keeps
// 2 ≤ C < sqrt(rows): at least two rows per value, so an index value never
// pins down one row, and fewer than sqrt(rows), so a search still narrows
// the candidates enough to be fast. Hence
//
//	log2(rows)/2 < L ≤ log2(rows) − 1.
//
// For one million rows: 10 ≤ L ≤ 18, so 16 bits is a sound choice. It returns
// ok=false when rows is too small (under 16) for any index to be safe.
func SafeIndexBits(rows uint64) (minBits, maxBits int, ok bool) {
	if rows < 16 {
		return 0, 0, false
	}
	lg := math.Log2(float64(rows))
	minBits = int(math.Floor(lg/2)) + 1
	maxBits = int(math.Floor(lg - 1))
	return minBits, maxBits, minBits <= maxBits
}

// NormalizeEmail trims surrounding space and lower-cases the address, so
// that case variants of an address share an index value.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeDigits keeps only the decimal digits, for phone numbers and card
// or identity numbers written with spaces or dashes.
func NormalizeDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// NormalizeText trims surrounding space, lower-cases, and collapses runs of
// white space into one space, for names and free text.
func NormalizeText(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}
