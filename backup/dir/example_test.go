package dir_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/dir"
	"github.com/keel-go/keel/backup/local"
)

// A directory tree backed up into an encrypted repository, damaged, and
// restored into place: the restored tree is the one that was backed up,
// with the file that was added since removed.
func Example() {
	work, _ := os.MkdirTemp("", "keel-dir-example-")
	defer func() { _ = os.RemoveAll(work) }()
	uploads := filepath.Join(work, "uploads")
	_ = os.MkdirAll(filepath.Join(uploads, "invoices"), 0o755)
	_ = os.WriteFile(filepath.Join(uploads, "invoices", "2026-001.txt"), []byte("widget x2\n"), 0o644)
	_ = os.WriteFile(filepath.Join(uploads, "logo.svg"), []byte("<svg/>\n"), 0o644)

	source, err := dir.New(dir.Config{Path: uploads})
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
	ctx := context.Background()
	m, err := repo.Create(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Driver, m.Tools["tar"])

	// Damage: one file overwritten, one added.
	_ = os.WriteFile(filepath.Join(uploads, "invoices", "2026-001.txt"), []byte("garbage"), 0o644)
	_ = os.WriteFile(filepath.Join(uploads, "stray.tmp"), nil, 0o644)

	// The tree holds data, so replacing it is an explicit choice (Force).
	if _, err := repo.Restore(ctx, m.ID, source, backup.RestoreOptions{Force: true}); err != nil {
		fmt.Println(err)
		return
	}
	_ = filepath.WalkDir(uploads, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(uploads, p)
		fmt.Printf("%s: %q\n", filepath.ToSlash(rel), content)
		return nil
	})
	// Output:
	// dir pax
	// invoices/2026-001.txt: "widget x2\n"
	// logo.svg: "<svg/>\n"
}
