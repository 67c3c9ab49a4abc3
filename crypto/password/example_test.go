package password_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/keel-go/keel/crypto/password"
)

func Example() {
	h, err := password.New(password.Config{}) // argon2id, m=19456 KiB, t=2, p=1
	if err != nil {
		log.Fatal(err)
	}
	stored, err := h.Hash("correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$"))
	fmt.Println(h.Verify("correct horse battery staple", stored))
	fmt.Println(h.Verify("Tr0ub4dor&3", stored))
	// Output:
	// true
	// <nil>
	// password: password does not match
}

func ExampleHasher_VerifyAndUpgrade() {
	h, _ := password.New(password.Config{})
	// A user of the older Python system: key and salt columns, 480 000 iterations
	// (here the RFC 7914 vector, one iteration, to keep the example fast).
	legacy, err := password.FromPBKDF2Columns(
		"VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw==",
		"c2FsdA==", 1)
	if err != nil {
		log.Fatal(err)
	}
	upgraded, err := h.VerifyAndUpgrade("passwd", legacy)
	fmt.Println(err, strings.HasPrefix(upgraded, "$argon2id$"))
	// Output: <nil> true
}
