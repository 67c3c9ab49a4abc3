package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/sqlite"
)

// A live SQLite database backed up, proved restorable by a trial restore
// with a sanity query (the live file is not touched), and restored after
// a bad write.
func Example() {
	work, _ := os.MkdirTemp("", "keel-sqlite-example-")
	defer func() { _ = os.RemoveAll(work) }()
	path := filepath.Join(work, "sales.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = db.Close() }()
	ctx := context.Background()
	_, err = db.ExecContext(ctx, `CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT);
		INSERT INTO orders (item) VALUES ('widget'), ('gadget')`)
	if err != nil {
		fmt.Println(err)
		return
	}

	source, err := sqlite.New(sqlite.Config{Path: path, ScratchDir: work})
	if err != nil {
		fmt.Println(err)
		return
	}
	store, _ := local.New(filepath.Join(work, "backups"))
	identity, _ := age.GenerateX25519Identity()
	signingKey, _ := backup.GenerateSigningKey()
	repo, err := backup.New(backup.Config{
		Storage:    store,
		Source:     source,
		Recipients: []age.Recipient{identity.Recipient()},
		Identities: []age.Identity{identity},
		SigningKey: signingKey,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = repo.Close() }()
	m, err := repo.Create(ctx) // online: writers may keep working
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := repo.Verify(ctx, m.ID, backup.VerifyOptions{
		Level: backup.VerifyRestore, Trial: source, SanityQuery: "SELECT count(*) FROM orders",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", v.Level, "orders in the trial restore:", v.Detail)

	_, _ = db.ExecContext(ctx, "DELETE FROM orders")
	// Stop the writers before a restore: here, close the only connection.
	_ = db.Close()
	if _, err := repo.Restore(ctx, m.ID, source, backup.RestoreOptions{Force: true}); err != nil {
		fmt.Println(err)
		return
	}
	db, _ = sql.Open("sqlite", path)
	var items string
	_ = db.QueryRowContext(ctx, "SELECT group_concat(item, ',') FROM orders").Scan(&items)
	fmt.Println("restored:", items)
	// Output:
	// verified: restore orders in the trial restore: 2
	// restored: widget,gadget
}
