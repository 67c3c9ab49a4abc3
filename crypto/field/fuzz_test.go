package field

import (
	"context"
	"encoding/hex"
	"testing"
)

func FuzzRingDecrypt(f *testing.F) {
	r := newRing(f, 1, fixedKey(1, XChaCha20Poly1305, 1), fixedKey(2, AES256GCM, 2))
	for _, pt := range []string{"", "ann@example.com"} {
		ct, _ := r.Encrypt([]byte(pt), []byte("ctx"))
		f.Add(ct, []byte("ctx"))
	}
	f.Add([]byte{1, 2, 0, 0, 0, 2}, []byte(nil))
	f.Fuzz(func(t *testing.T, ct, ctx []byte) {
		pt, err := r.Decrypt(ct, ctx)
		if err == nil {
			// Forging a ciphertext is infeasible: anything that decrypts must
			// re-encrypt and decrypt to the same plaintext.
			again, err := r.Encrypt(pt, ctx)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := r.Decrypt(again, ctx); err != nil || string(back) != string(pt) {
				t.Fatalf("round trip failed: %v", err)
			}
		}
		_, _ = r.NeedsReencrypt(ct)
		_, _ = KeyID(ct)
	})
}

func FuzzEnvelopeDecrypt(f *testing.F) {
	kek, _ := NewLocalKEK(newRing(f, 0, fixedKey(1, 0, 1)))
	env, _ := NewEnvelope(kek)
	ct, _ := env.Encrypt(context.Background(), []byte("x"), nil)
	f.Add(ct, []byte(nil))
	f.Add([]byte{2, 1, 0, 1, 0}, []byte("c"))
	f.Add([]byte{3, 1, 0, 1, 0}, []byte("c"))
	if legacy, err := hex.DecodeString(legacyEnvelope); err == nil {
		f.Add(legacy, Context("orders", "card", "7"))
	}
	f.Fuzz(func(t *testing.T, ct, ctx []byte) {
		_, _ = env.Decrypt(context.Background(), ct, ctx)
	})
}

func FuzzDecodeText(f *testing.F) {
	f.Add("AQEAAAAB")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeText(s)
		if err == nil && EncodeText(b) != s {
			t.Fatalf("text form is not canonical: %q", s)
		}
	})
}

func FuzzParseKeyset(f *testing.F) {
	ks, _ := GenerateKeyset(0)
	data, _ := MarshalKeyset(ks)
	f.Add(data)
	f.Add([]byte(`{"format":"keel.field.keyset/v1"}`))
	f.Add([]byte(`{"format":"keel.field.keyset/v1","primary":1,"PRIMARY":2,"keys":[{"id":1,"x":[[{}]]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseKeyset(data)
		if err == nil {
			if _, err := ks.Ring(); err != nil {
				t.Fatalf("a parsed key set must build a ring: %v", err)
			}
		}
	})
}

func FuzzSQLScan(f *testing.F) {
	r := newRing(f, 0, fixedKey(1, 0, 1))
	ct, _ := r.Encrypt([]byte("v"), nil)
	f.Add(ct)
	f.Add([]byte(EncodeText(ct)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := String{Cipher: r}
		_ = s.Scan(raw)
		_ = s.Scan(string(raw))
	})
}
