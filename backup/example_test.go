package backup_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
)

// stringSource stands in for a database driver.
type stringSource string

func (s stringSource) Driver() string { return "example" }
func (s stringSource) Name() string   { return "example://orders" }
func (s stringSource) Dump(_ context.Context, w io.Writer) (map[string]string, error) {
	_, err := io.WriteString(w, string(s))
	return nil, err
}

// printTarget stands in for the database the backup came from: it has
// the source's name, so restoring into it needs no AllowOtherSource.
type printTarget struct{}

func (printTarget) Driver() string                      { return "example" }
func (printTarget) Name() string                        { return "example://orders" }
func (printTarget) Empty(context.Context) (bool, error) { return true, nil }
func (printTarget) Restore(_ context.Context, r io.Reader, _ bool) error {
	_, err := io.Copy(os.Stdout, r)
	return err
}

func Example() {
	dir, _ := os.MkdirTemp("", "keel-example-")
	defer func() { _ = os.RemoveAll(dir) }()
	store, _ := local.New(dir)
	identity, _ := age.GenerateX25519Identity()
	signingKey, _ := backup.GenerateSigningKey()

	repo, err := backup.New(backup.Config{
		Storage:    store,
		Source:     stringSource("1,widget\n2,gadget\n"),
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
	fmt.Println(m.Driver, m.RawSize, m.Compression, m.Encryption.Scheme)
	v, err := repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyFull})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", v.Level)
	if _, err := repo.Restore(ctx, "latest", printTarget{}, backup.RestoreOptions{}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// example 18 zstd age-x25519
	// verified: full
	// 1,widget
	// 2,gadget
}

func ExampleApplyPolicy() {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 3, 0, 0, 0, time.UTC) }
	var snaps []backup.Snapshot
	for d := 1; d <= 14; d++ {
		snaps = append(snaps, backup.Snapshot{ID: day(d).Format("Jan 02"), Time: day(d)})
	}
	decisions, _ := backup.ApplyPolicy(snaps, backup.Policy{Daily: 3, Weekly: 2})
	for _, d := range decisions {
		if d.Keep {
			fmt.Println(d.ID, strings.Join(d.Reasons, "+"))
		}
	}
	// Output:
	// Jan 14 daily+weekly
	// Jan 13 daily
	// Jan 12 daily
	// Jan 11 weekly
}

func ExampleParseSchedule() {
	s, _ := backup.ParseSchedule("30 2 * * *", time.UTC)
	fmt.Println(s.Next(time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)))
	// Output: 2026-11-22 02:30:00 +0000 UTC
}
