package password_test

import (
	"errors"
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

// A login for an account that does not exist costs the same as a wrong
// password, so response times do not reveal which accounts exist.
func ExampleHasher_VerifyUnknown() {
	h, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	stored, _ := h.Hash("correct horse battery staple")
	users := map[string]string{"ann": stored}
	login := func(user, pw string) error {
		hash, ok := users[user]
		if !ok {
			return h.VerifyUnknown(pw) // one argon2id at the current parameters
		}
		return h.Verify(pw, hash)
	}
	fmt.Println(login("ann", "guess"))
	fmt.Println(login("bob", "guess"))
	// Output:
	// password: password does not match
	// password: password does not match
}

// A stored hash is untrusted input: one that asks for more memory or work
// than Config.Limits allows is refused before any work, naming the parameter
// and the setting that would raise the ceiling.
func ExampleParamError() {
	h, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	err = h.Verify("pw", "$scrypt$ln=22,r=32,p=16$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E")
	fmt.Println(errors.Is(err, password.ErrHashTooCostly))
	fmt.Println(err)
	// Output:
	// true
	// password: scrypt hash parameter 128*r*N=16777224 KiB is above the ceiling 77824 (Config.Limits.Memory)
}
