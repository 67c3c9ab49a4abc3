package audit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"os"

	"github.com/keel-go/keel/audit"
)

func Example() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	// In production the key comes from a file or a secret store
	// (audit.ParsePrivateKey); the public key is what auditors keep.
	pub, key, _ := ed25519.GenerateKey(nil)

	sink, err := audit.NewFileSink(audit.FileSinkConfig{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	logger, err := audit.New(audit.Config{
		Sinks:      []audit.Sink{sink},
		SigningKey: key,
		Sensitive:  []audit.SensitiveField{{Name: "card_number", Treatment: audit.Mask, KeepLast: 4}},
	})
	if err != nil {
		log.Fatal(err)
	}
	err = logger.Log(context.Background(), audit.Event{
		Actor:    audit.Actor{ID: "u-42", Type: "user"},
		Action:   "license.update",
		Resource: audit.Resource{Type: "license", ID: "lic-7"},
		Outcome:  audit.Success,
		Before:   map[string]any{"seats": 10},
		After:    map[string]any{"seats": 25, "card_number": "4111111111111111"},
	})
	if err != nil {
		log.Fatal(err) // fail closed: the API refuses what it could not audit
	}
	if err := logger.Close(); err != nil {
		log.Fatal(err)
	}

	report, err := audit.Verify(context.Background(), audit.DirSource(dir), audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{pub}})
	fmt.Println("verified:", err == nil, "events:", report.Events, "closed:", report.Closed)
	for r, err := range audit.Query(context.Background(), audit.DirSource(dir), audit.Filter{ResourceID: "lic-7"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Event.Actor.ID, r.Event.Action, r.Event.After["seats"], r.Event.After["card_number"])
	}
	// Output:
	// verified: true events: 1 closed: true
	// u-42 license.update 25 ****1111
}

func ExampleHMACValue() {
	key := []byte("an-hmac-key-of-at-least-32-bytes!")
	// An investigator holding the key computes the search term for a known
	// value and looks for it in the log.
	fmt.Println(audit.HMACValue(key, "ann@example.com")[:24])
	// Output:
	// hmac-sha256:3d84d09da2bf
}
