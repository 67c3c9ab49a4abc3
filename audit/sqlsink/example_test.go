package sqlsink_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sqlsink")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, "audit.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	pub, key, _ := ed25519.GenerateKey(nil)

	sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: sqlsink.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	logger, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key})
	if err != nil {
		log.Fatal(err)
	}
	for _, who := range []string{"u-1", "u-2", "u-1"} {
		if err := logger.Log(context.Background(), audit.Event{
			Actor: audit.Actor{ID: who}, Action: "customer.read", Resource: audit.Resource{Type: "customer", ID: "c-9"},
			Outcome: audit.Success,
		}); err != nil {
			log.Fatal(err)
		}
	}
	if err := logger.Close(); err != nil {
		log.Fatal(err)
	}

	rep, err := audit.Verify(context.Background(), sink, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{pub}})
	fmt.Println("verified:", err == nil, "events:", rep.Events)
	n := 0
	for _, err := range audit.Query(context.Background(), sink, audit.Filter{ActorID: "u-1"}) { // uses the table's indexes
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println("events by u-1:", n)
	// Output:
	// verified: true events: 3
	// events by u-1: 2
}
