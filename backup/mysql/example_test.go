package mysql_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"os"

	"filippo.io/age"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/mysql"
)

// New contacts no server and runs no tool: it checks the DSN and finds
// mariadb-dump and mariadb (or mysqldump and mysql) in PATH. Name is what
// manifests and logs show, without the password; SourceIdentity is what a
// restore compares (the server and the database, not the user).
func ExampleNew() {
	d, err := mysql.New(mysql.Config{DSN: "backup:s3cret@tcp(DB.example.com:3307)/sales"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name())
	fmt.Println(d.SourceIdentity())

	_, err = mysql.New(mysql.Config{DSN: "backup:s3cret@tcp(db.example.com:3306)/"})
	fmt.Println(err)
	// Output:
	// mysql://backup@DB.example.com:3307/sales
	// mysql://db.example.com:3307/sales
	// mysql: Config.DSN must name a database
}

// Restoring the newest backup onto a new server after losing the old
// one: another source than the backup's, so AllowOtherSource says so, and
// Confirm shows the plan after every check and before anything is
// written. This example has no Output line, so it is compiled but not
// run: it needs a running MariaDB or MySQL server and its client tools,
// which an Example cannot skip without (the driver's tests restore
// against a real server).
func Example() {
	ctx := context.Background()
	target, err := mysql.New(mysql.Config{DSN: os.Getenv("NEW_SALES_DSN")}) // "restore:…@tcp(db2:3306)/sales"
	if err != nil {
		log.Fatal(err)
	}
	keyFile, err := os.Open("/etc/keel/backup-age.key") // age-keygen's identity file
	if err != nil {
		log.Fatal(err)
	}
	identities, err := age.ParseIdentities(keyFile)
	_ = keyFile.Close()
	if err != nil {
		log.Fatal(err)
	}
	pub, err := os.ReadFile("/etc/keel/backup-signing.pub") // keel backup keygen's public half
	if err != nil {
		log.Fatal(err)
	}
	verifyKey, err := backup.ParsePublicKey(pub)
	if err != nil {
		log.Fatal(err)
	}
	store, err := local.New("/var/backups/sales")
	if err != nil {
		log.Fatal(err)
	}
	repo, err := backup.New(backup.Config{Storage: store, Identities: identities, VerifyKeys: []ed25519.PublicKey{verifyKey}})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = repo.Close() }()
	m, err := repo.Restore(ctx, "latest", target, backup.RestoreOptions{
		AllowOtherSource: true,
		Confirm: func(_ context.Context, p *backup.RestorePlan) error {
			fmt.Printf("restoring %s (%s) into %s\n", p.Manifest.ID, p.Source, p.Target)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("restored", m.ID)
}
