package fernet_test

import (
	"fmt"
	"log"
	"time"

	"github.com/keel-go/keel/crypto/field/fernet"
)

func Example() {
	// The key the Python system uses (Fernet.generate_key()), read from its config.
	key, err := fernet.DecodeKey("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")
	if err != nil {
		log.Fatal(err)
	}
	token := "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="
	msg, err := fernet.Decrypt(token, 0, key) // ttl 0: no age check
	fmt.Println(string(msg), err)

	_, err = fernet.Decrypt(token, time.Hour, key) // written in 1985: long expired
	fmt.Println(err)
	fmt.Println(key)
	// Output:
	// hello <nil>
	// fernet: invalid token: fernet: token expired
	// [REDACTED]
}
