package app

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns prefix + 16 random hex digits (crypto/rand).
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b[:])
}
