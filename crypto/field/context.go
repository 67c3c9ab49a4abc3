package field

import "encoding/binary"

// Context builds an unambiguous encryption context from parts such as the
// table, the column and the row id: each part is length-prefixed, so
// Context("ab", "c") and Context("a", "bc") differ. Pass the same parts to
// Encrypt and Decrypt.
func Context(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}
