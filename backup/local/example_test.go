package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keel-go/keel/backup/local"
)

// brokenDump is a dump that dies half-way, as pg_dump does when its
// server goes away.
type brokenDump struct{ sent bool }

func (b *brokenDump) Read(p []byte) (int, error) {
	if b.sent {
		return 0, errors.New("connection lost")
	}
	b.sent = true
	return copy(p, "half a dump"), nil
}

// An object is either complete or absent: a Put whose reader fails leaves
// nothing behind, not even its temporary file, so a later List never
// offers a truncated backup.
func Example() {
	dir, _ := os.MkdirTemp("", "keel-local-example-")
	defer func() { _ = os.RemoveAll(dir) }()
	store, err := local.New(filepath.Join(dir, "backups"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	if err := store.Put(ctx, "mon.backup", strings.NewReader("a whole dump")); err != nil {
		fmt.Println(err)
		return
	}
	err = store.Put(ctx, "tue.backup", &brokenDump{})
	fmt.Println("tue:", err)

	names, _ := store.List(ctx)
	fmt.Println("listed:", names)
	entries, _ := os.ReadDir(store.Dir())
	fmt.Println("files in the directory:", len(entries))
	rc, _ := store.Get(ctx, "mon.backup")
	content, _ := io.ReadAll(rc)
	_ = rc.Close()
	fmt.Printf("mon: %q\n", content)
	// Output:
	// tue: connection lost
	// listed: [mon.backup]
	// files in the directory: 1
	// mon: "a whole dump"
}
