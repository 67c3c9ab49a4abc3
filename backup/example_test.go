package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// stagingTarget stands in for another database than the backup's source.
type stagingTarget struct{ printTarget }

func (stagingTarget) Name() string { return "example://staging" }

// Restoring into another database than the backup's source is an explicit
// choice; Confirm sees the plan after every check and before any write.
func ExampleRepository_PlanRestore() {
	dir, _ := os.MkdirTemp("", "keel-example-")
	defer func() { _ = os.RemoveAll(dir) }()
	store, _ := local.New(dir)
	signingKey, _ := backup.GenerateSigningKey()
	repo, _ := backup.New(backup.Config{Storage: store, Source: stringSource("1,widget\n"), Unencrypted: true, SigningKey: signingKey})
	defer func() { _ = repo.Close() }()
	ctx := context.Background()
	if _, err := repo.Create(ctx); err != nil {
		fmt.Println(err)
		return
	}

	_, err := repo.PlanRestore(ctx, "latest", stagingTarget{}, backup.RestoreOptions{})
	fmt.Println(errors.Is(err, backup.ErrOtherSource))

	_, err = repo.Restore(ctx, "latest", stagingTarget{}, backup.RestoreOptions{
		AllowOtherSource: true,
		Confirm: func(_ context.Context, p *backup.RestorePlan) error {
			fmt.Println("source:", p.Source)
			fmt.Println("target:", p.Target)
			fmt.Println("checked:", p.Checked, "verified:", p.Verification != nil)
			fmt.Println("allowed:", p.Overridden[0].Option)
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// true
	// source: example://orders
	// target: example://staging
	// checked: true verified: false
	// allowed: AllowOtherSource
	// 1,widget
}

// A backup removed from storage stays in the signed index: "latest" is
// refused rather than silently moved back to an older backup.
func ExampleRepository_Inventory() {
	dir, _ := os.MkdirTemp("", "keel-example-")
	defer func() { _ = os.RemoveAll(dir) }()
	store, _ := local.New(dir)
	signingKey, _ := backup.GenerateSigningKey()
	repo, _ := backup.New(backup.Config{Storage: store, Source: stringSource("rows"), Unencrypted: true, SigningKey: signingKey})
	defer func() { _ = repo.Close() }()
	ctx := context.Background()
	_, _ = repo.Create(ctx)
	newest, _ := repo.Create(ctx)
	_ = store.Delete(ctx, newest.ID+".manifest.json")

	inv, _ := repo.Inventory(ctx)
	fmt.Println(len(inv.Entries), "backups;", "missing newest:", inv.Missing()[0] == newest.ID)
	_, err := repo.Latest(ctx)
	fmt.Println(errors.Is(err, backup.ErrMissing))
	// Once an operator knows why it is gone:
	_, _ = repo.Forget(ctx, newest.ID)
	_, err = repo.Latest(ctx)
	fmt.Println(err)
	// Output:
	// 2 backups; missing newest: true
	// true
	// <nil>
}

// A witness outside the repository remembers the newest index seen, so
// that putting back an older signed index (with the newer backups removed)
// is reported.
func ExampleFileWitness() {
	dir, _ := os.MkdirTemp("", "keel-example-")
	defer func() { _ = os.RemoveAll(dir) }()
	store, _ := local.New(filepath.Join(dir, "backups"))
	signingKey, _ := backup.GenerateSigningKey()
	repo, _ := backup.New(backup.Config{Storage: store, Source: stringSource("rows"), Unencrypted: true, SigningKey: signingKey,
		Witness: backup.FileWitness{Path: filepath.Join(dir, "witness.json")}})
	defer func() { _ = repo.Close() }()
	ctx := context.Background()
	_, _ = repo.Create(ctx)
	rc, _ := store.Get(ctx, backup.IndexObject)
	old, _ := io.ReadAll(rc)
	_ = rc.Close()
	newest, _ := repo.Create(ctx)

	// An attacker removes the newest backup and puts the old index back.
	_ = store.Delete(ctx, newest.ID+".manifest.json")
	_ = store.Put(ctx, backup.IndexObject, bytes.NewReader(old))

	inv, _ := repo.Inventory(ctx)
	fmt.Println(len(inv.Problems), errors.Is(inv.Problems[0], backup.ErrIndex))
	_, err := repo.Latest(ctx)
	fmt.Println(errors.Is(err, backup.ErrIndex))
	// Output:
	// 1 true
	// true
}

// Init gives a repository made before identities its identity and index,
// and with AdoptLegacy vouches for its older backups.
func ExampleRepository_Init() {
	dir, _ := os.MkdirTemp("", "keel-example-")
	defer func() { _ = os.RemoveAll(dir) }()
	store, _ := local.New(dir)
	signingKey, _ := backup.GenerateSigningKey()
	repo, _ := backup.New(backup.Config{Storage: store, SigningKey: signingKey})
	defer func() { _ = repo.Close() }()
	res, err := repo.Init(context.Background(), backup.InitOptions{AdoptLegacy: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Created, backup.ValidRepositoryID(res.Repository), res.Seq, len(res.Adopted))
	// Output: true true 1 0
}
