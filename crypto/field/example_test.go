package field_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/keel-go/keel/crypto/field"
)

func Example() {
	ks, err := field.GenerateKeyset(field.XChaCha20Poly1305) // normally: field.ReadKeysetFile(path)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := ks.Ring()
	if err != nil {
		log.Fatal(err)
	}
	row := field.Context("customers", "email", "42")
	ct, err := ring.Encrypt([]byte("ann@example.com"), row)
	if err != nil {
		log.Fatal(err)
	}
	pt, err := ring.Decrypt(ct, row)
	fmt.Println(string(pt), err)

	// The same ciphertext copied to another row does not decrypt.
	_, err = ring.Decrypt(ct, field.Context("customers", "email", "43"))
	fmt.Println(err != nil)
	// Output:
	// ann@example.com <nil>
	// true
}

func ExampleBlindIndex() {
	ks, _ := field.GenerateKeyset(0)
	idx, err := field.NewBlindIndex(field.IndexConfig{
		Key:       ks.IndexKey,
		Name:      "customers.email",
		Bits:      16, // SafeIndexBits(1_000_000) allows 10..18
		Normalize: field.NormalizeEmail,
	})
	if err != nil {
		log.Fatal(err)
	}
	stored := idx.Sum("Ann@Example.com") // written next to the ciphertext
	query := idx.Sum("ann@example.com ") // computed from the search input
	fmt.Println(len(stored), bytes.Equal(stored, query))
	// Output: 2 true
}

func ExampleRing_Reencrypt() {
	ks, _ := field.GenerateKeyset(0)
	old, _ := ks.Ring()
	row := field.Context("customers", "phone", "7")
	ct, _ := old.Encrypt([]byte("+49 151 1234567"), row)

	if _, err := ks.Rotate(0, true); err != nil { // new primary key 2, key 1 kept for decryption
		log.Fatal(err)
	}
	ring, _ := ks.Ring()
	needs, _ := ring.NeedsReencrypt(ct)
	ct2, changed, err := ring.Reencrypt(ct, row)
	id, _ := field.KeyID(ct2)
	fmt.Println(needs, changed, err, id)
	// Output: true true <nil> 2
}

func ExampleSecret() {
	password := field.NewSecret("hunter2")
	fmt.Printf("%v %s %q %#v\n", password, password, password, password)
	// Output: [REDACTED] [REDACTED] [REDACTED] [REDACTED]
}

func ExampleEnvelope() {
	ks, _ := field.GenerateKeyset(0)
	ring, _ := ks.Ring()
	kek, _ := field.NewLocalKEK(ring) // a KMS client can implement field.KEK instead
	env, err := field.NewEnvelope(kek)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	row := field.Context("orders", "card_token", "1001")
	ct, _ := env.Encrypt(ctx, []byte("tok_4242"), row)
	pt, err := env.Decrypt(ctx, ct, row)
	fmt.Println(string(pt), err)
	// Output: tok_4242 <nil>
}

// A ring counts the values each key encrypts; an AES-256-GCM key is reported
// when it reaches half of its 2^32 limit, time to rotate it.
func ExampleRing_Usage() {
	key, _ := field.GenerateKey(1, field.AES256GCM)
	ring, err := field.New(field.Config{
		Keys: []field.Key{key},
		// Counts kept by the application across restarts and instances.
		Encryptions: map[uint32]uint64{1: field.GCMMessageLimit/2 - 1},
		NearLimit:   func(u field.KeyUsage) { fmt.Printf("rotate key %d: %d of %d\n", u.ID, u.Encryptions, u.Limit) },
	})
	if err != nil {
		log.Fatal(err)
	}
	_, _ = ring.Encrypt([]byte("v"), nil)
	u := ring.Usage()[0]
	fmt.Println(u.NearLimit())
	// Output:
	// rotate key 1: 2147483648 of 4294967296
	// true
}
