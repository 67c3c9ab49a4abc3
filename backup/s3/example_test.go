package s3_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"filippo.io/age"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/dir"
	"github.com/keel-go/keel/backup/s3"
)

// New checks the configuration and contacts nothing: a wrong endpoint or
// wrong credentials show at the first Put, Get or List.
func ExampleNew() {
	_, err := s3.New(s3.Config{Endpoint: "s3.eu-west-1.amazonaws.com", Bucket: "acme-backups"})
	fmt.Println(err)
	_, err = s3.New(s3.Config{Endpoint: "s3.eu-west-1.amazonaws.com", Bucket: "acme-backups",
		AccessKeyID: "AKIA…", SecretAccessKey: "…", PartSize: 1 << 20})
	fmt.Println(err)
	// Output:
	// s3: Config.AccessKeyID and Config.SecretAccessKey are required
	// s3: Config.PartSize must be at least 5 MiB, got 1048576
}

// Backups of a directory tree kept in a bucket under a prefix. This
// example has no Output line, so it is compiled but not run: it needs an
// S3 service, which an Example cannot skip without (the package's tests
// run against a real S3 server, versitygw, on loopback).
func Example() {
	ctx := context.Background()
	store, err := s3.New(s3.Config{
		Endpoint: "s3.eu-west-1.amazonaws.com",
		Region:   "eu-west-1",
		Bucket:   "acme-backups", // must exist
		Prefix:   "uploads/",
		// From the environment or a secrets file, never a command line.
		AccessKeyID:     os.Getenv("BACKUP_S3_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("BACKUP_S3_SECRET_ACCESS_KEY"),
	})
	if err != nil {
		log.Fatal(err)
	}
	source, err := dir.New(dir.Config{Path: "/srv/uploads"})
	if err != nil {
		log.Fatal(err)
	}
	recipient, err := age.ParseX25519Recipient(os.Getenv("BACKUP_AGE_RECIPIENT")) // a public key
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
	repo, err := backup.New(backup.Config{
		Storage:    store,
		Source:     source,
		Recipients: []age.Recipient{recipient},
		SigningKey: signingKey,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = repo.Close() }()
	// The upload streams in parts of 16 MiB: memory stays one part
	// whatever the tree's size, and a failed dump leaves no object.
	m, err := repo.Create(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Checksum level reads the stored object back and needs no identity.
	if _, err := repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyChecksum}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored", m.Object, m.StoredSize, "bytes")
}
