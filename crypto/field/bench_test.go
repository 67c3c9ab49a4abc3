package field

import (
	"context"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// BenchmarkEncryptDecrypt compares one Encrypt+Decrypt through a Ring with
// raw XChaCha20-Poly1305 Seal+Open of the same value, in the same run. The
// raw side does what any correct caller must do too: a fresh random nonce,
// an output buffer for the nonce and ciphertext, a plaintext buffer.
func BenchmarkEncryptDecrypt(b *testing.B) {
	r := newRing(b, 0, fixedKey(1, XChaCha20Poly1305, 1))
	aead, err := chacha20poly1305.NewX(fixedKey(1, 0, 1).Material.Reveal())
	if err != nil {
		b.Fatal(err)
	}
	ctx := Context("customers", "email", "1234567")
	for _, size := range []int{64, 1024} {
		pt := make([]byte, size)
		b.Run("size="+strconv.Itoa(size)+"/impl=keel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				ct, err := r.Encrypt(pt, ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Decrypt(ct, ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("size="+strconv.Itoa(size)+"/impl=raw-xchacha20poly1305", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			ns := chacha20poly1305.NonceSizeX
			for b.Loop() {
				out := make([]byte, ns, ns+size+tagSize)
				_, _ = rand.Read(out)
				out = aead.Seal(out, out[:ns], pt, ctx)
				if _, err := aead.Open(make([]byte, 0, size), out[:ns], out[ns:], ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOverheadPaired measures Keel's overhead over raw
// XChaCha20-Poly1305 robustly on a loaded machine: each iteration times a
// batch of Keel Encrypt+Decrypt and a batch of raw Seal+Open back to back
// (alternating which goes first), so both see the same load. It reports
// keel-ns/op, raw-ns/op and overhead-% (Keel over raw, in percent).
func BenchmarkOverheadPaired(b *testing.B) {
	r := newRing(b, 0, fixedKey(1, XChaCha20Poly1305, 1))
	aead, err := chacha20poly1305.NewX(fixedKey(1, 0, 1).Material.Reveal())
	if err != nil {
		b.Fatal(err)
	}
	ctx := Context("customers", "email", "1234567")
	ns := chacha20poly1305.NonceSizeX
	for _, size := range []int{64, 1024} {
		pt := make([]byte, size)
		keel := func() {
			ct, _ := r.Encrypt(pt, ctx)
			if _, err := r.Decrypt(ct, ctx); err != nil {
				b.Fatal(err)
			}
		}
		raw := func() {
			out := make([]byte, ns, ns+size+tagSize)
			_, _ = rand.Read(out)
			out = aead.Seal(out, out[:ns], pt, ctx)
			if _, err := aead.Open(make([]byte, 0, size), out[:ns], out[ns:], ctx); err != nil {
				b.Fatal(err)
			}
		}
		timeBatch := func(f func()) time.Duration {
			const batch = 16
			start := time.Now()
			for range batch {
				f()
			}
			return time.Since(start) / batch
		}
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			var keelTotal, rawTotal time.Duration
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					keelTotal += timeBatch(keel)
					rawTotal += timeBatch(raw)
				} else {
					rawTotal += timeBatch(raw)
					keelTotal += timeBatch(keel)
				}
				i++
			}
			b.ReportMetric(float64(keelTotal.Nanoseconds())/float64(i), "keel-ns/op")
			b.ReportMetric(float64(rawTotal.Nanoseconds())/float64(i), "raw-ns/op")
			b.ReportMetric(100*(float64(keelTotal)/float64(rawTotal)-1), "overhead-%")
		})
	}
}

func BenchmarkEncryptDecryptAESGCM(b *testing.B) {
	r := newRing(b, 0, fixedKey(1, AES256GCM, 1))
	pt := make([]byte, 64)
	ctx := Context("customers", "email", "1234567")
	b.ReportAllocs()
	for b.Loop() {
		ct, _ := r.Encrypt(pt, ctx)
		if _, err := r.Decrypt(ct, ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnvelopeEncryptDecrypt(b *testing.B) {
	kek, _ := NewLocalKEK(newRing(b, 0, fixedKey(1, 0, 1)))
	env, _ := NewEnvelope(kek)
	pt := make([]byte, 64)
	bg := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ct, _ := env.Encrypt(bg, pt, nil)
		if _, err := env.Decrypt(bg, ct, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	idx, err := NewBlindIndex(IndexConfig{Key: indexKey(1), Name: "customers.email", Bits: 16, Normalize: NormalizeEmail})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("op=Sum", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = idx.Sum("Ann.Example@Example.com")
		}
	})
	b.Run("op=Append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 32)
		for b.Loop() {
			buf = idx.Append(buf[:0], "ann.example@example.com")
		}
	})
}
