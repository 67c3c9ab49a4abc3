package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"filippo.io/age"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/postgres"
)

// New contacts no server: it checks the DSN and takes the password out of
// what the tools and the backup's manifest will see. Name is what
// manifests and logs show; SourceIdentity is what a restore compares
// (the server and the database, not the user).
func ExampleNew() {
	d, err := postgres.New(postgres.Config{
		DSN: "postgres://app:s3cret@DB.example.com:5433/sales?sslmode=verify-full",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name())
	fmt.Println(d.SourceIdentity())

	_, err = postgres.New(postgres.Config{DSN: "postgres://app@db.example.com"})
	fmt.Println(err)
	// Output:
	// postgres://app@DB.example.com:5433/sales
	// postgres://db.example.com:5433/sales
	// postgres: Config.DSN must name a database
}

// A nightly backup of a PostgreSQL database, proved by restoring it into
// a scratch database. This example has no Output line, so it is compiled
// but not run: it needs a running PostgreSQL server, pg_dump and
// pg_restore, which an Example cannot skip without (the driver's tests
// run the same steps against a real server).
func Example() {
	ctx := context.Background()
	// The password comes from the environment or a secrets file, never
	// from a command line; the driver hands it to pg_dump in a 0600 file.
	dsn := os.Getenv("SALES_DATABASE_URL") // postgres://backup:…@db:5432/sales
	source, err := postgres.New(postgres.Config{DSN: dsn})
	if err != nil {
		log.Fatal(err)
	}
	recipient, err := age.ParseX25519Recipient(os.Getenv("BACKUP_AGE_RECIPIENT")) // a public key
	if err != nil {
		log.Fatal(err)
	}
	// Verifying at VerifyRestore decrypts, so this job holds the identity
	// (age-keygen's file); one that only creates backups would not.
	keyFile, err := os.Open("/etc/keel/backup-age.key")
	if err != nil {
		log.Fatal(err)
	}
	identities, err := age.ParseIdentities(keyFile)
	_ = keyFile.Close()
	if err != nil {
		log.Fatal(err)
	}
	pem, err := os.ReadFile("/etc/keel/backup-signing.pem") // keel backup keygen writes one
	if err != nil {
		log.Fatal(err)
	}
	signingKey, err := backup.ParseSigningKey(pem)
	if err != nil {
		log.Fatal(err)
	}
	store, err := local.New("/var/backups/sales")
	if err != nil {
		log.Fatal(err)
	}
	repo, err := backup.New(backup.Config{
		Storage:    store,
		Source:     source,
		Recipients: []age.Recipient{recipient},
		Identities: identities,
		SigningKey: signingKey,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = repo.Close() }()
	m, err := repo.Create(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// The trial restore goes to a scratch database that the driver creates
	// on the same server and drops (the role needs CREATEDB).
	if _, err := repo.Verify(ctx, m.ID, backup.VerifyOptions{
		Level: backup.VerifyRestore, Trial: source, SanityQuery: "SELECT count(*) FROM orders",
	}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("backed up and verified:", m.ID, m.Tools["pg_dump"])
}
