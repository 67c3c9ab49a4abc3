package password

import "testing"

// BenchmarkHashArgon2idDefault is the cost of one Hash at the default
// (OWASP) parameters: m=19456 KiB, t=2, p=1.
func BenchmarkHashArgon2idDefault(b *testing.B) {
	h, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyArgon2idDefault(b *testing.B) {
	h, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	stored, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Verify("correct horse battery staple", stored); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUnknownDefault is the cost of a login for an account that
// does not exist: it should equal BenchmarkVerifyArgon2idDefault.
func BenchmarkVerifyUnknownDefault(b *testing.B) {
	h, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.VerifyUnknown("correct horse battery staple"); err != ErrMismatch {
			b.Fatal(err)
		}
	}
}
