package backup_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
)

// otherSource is another database than the fixture's memSource.
type otherSource struct{ memSource }

func (*otherSource) Name() string { return "mem://other" }

// copyBackup copies backup id's files from one storage directory to another,
// as an attacker with write access to the repository would.
func copyBackup(t *testing.T, from, to, id string) {
	t.Helper()
	for _, suffix := range []string{".backup", ".manifest.json", ".verified.json"} {
		b, err := os.ReadFile(filepath.Join(from, id+suffix))
		if errors.Is(err, os.ErrNotExist) && suffix == ".verified.json" {
			continue
		}
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, id+suffix), b, 0o600))
	}
}

func removeBackup(t *testing.T, dir, id string) {
	t.Helper()
	for _, suffix := range []string{".backup", ".manifest.json", ".verified.json"} {
		err := os.Remove(filepath.Join(dir, id+suffix))
		if !errors.Is(err, os.ErrNotExist) {
			require.NoError(t, err)
		}
	}
}

// create makes a backup and fails the test if it cannot.
func (f *fixture) create(t *testing.T) *backup.Manifest {
	t.Helper()
	m, err := f.repo.Create(context.Background())
	require.NoError(t, err)
	return m
}

// assertLatest checks that repo resolves "latest" to want.
func assertLatest(t *testing.T, repo *backup.Repository, want string) {
	t.Helper()
	latest, err := repo.Latest(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, latest.ID)
}

// reopen returns a new Repository on f's storage and keys, as another
// process (or a later run) would open it.
func (f *fixture) reopen(t *testing.T, mutate ...func(*backup.Config)) *backup.Repository {
	t.Helper()
	cfg := backup.Config{Storage: f.store, Source: f.src, Recipients: []age.Recipient{f.ident.Recipient()},
		Identities: []age.Identity{f.ident}, SigningKey: f.key}
	for _, m := range mutate {
		m(&cfg)
	}
	repo, err := backup.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = repo.Close() })
	return repo
}

// Attack: a validly signed backup of another database, made in another
// repository with the same signing key and age recipient, is copied into
// this repository. It is newer, so before repository identities it was
// restored as "latest" over this database.
func TestBackupOfAnotherRepositoryIsNotRestored(t *testing.T) {
	a := newFixture(t)
	ctx := context.Background()
	mA, err := a.repo.Create(ctx)
	require.NoError(t, err)

	otherDir := t.TempDir()
	otherStore, err := local.New(otherDir)
	require.NoError(t, err)
	otherData := randomPayload(t, 50_000)
	b, err := backup.New(backup.Config{Storage: otherStore, Source: &otherSource{memSource{data: otherData}},
		Recipients: []age.Recipient{a.ident.Recipient()}, SigningKey: a.key})
	require.NoError(t, err)
	defer func() { _ = b.Close() }()
	mB, err := b.Create(ctx)
	require.NoError(t, err)
	copyBackup(t, otherDir, a.store.Dir(), mB.ID)

	target := &memTarget{}
	got, err := a.repo.Restore(ctx, "latest", target, backup.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, mA.ID, got.ID, "latest is this repository's newest backup, not the one copied in")
	assert.Equal(t, a.payload, target.data)

	entries, err := a.repo.List(ctx)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.ErrorIs(t, entries[1].Err, backup.ErrOtherRepository)

	// By id: refused, and each check needs its own explicit option.
	other := &memTarget{}
	_, err = a.repo.Restore(ctx, mB.ID, other, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrOtherRepository)
	var re *backup.RefusedError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "AllowOtherRepository", re.Option)
	assert.Contains(t, err.Error(), mB.Repository)
	_, err = a.repo.Restore(ctx, mB.ID, other, backup.RestoreOptions{AllowOtherRepository: true})
	require.ErrorIs(t, err, backup.ErrOtherSource, "it is also a backup of another database")
	assert.False(t, other.restored, "nothing reached the target")
	_, err = a.repo.Restore(ctx, mB.ID, other, backup.RestoreOptions{AllowOtherRepository: true, AllowOtherSource: true})
	require.NoError(t, err)
	assert.Equal(t, otherData, other.data)
}

// Attack: the repository's own Source is pointed at another database (a
// configuration mistake, or an attacker who edits it); its newest backup is
// then of that database and must not restore over this one.
func TestBackupOfAnotherSourceInTheSameRepositoryIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_ = f.create(t)
	wrong := f.reopen(t, func(c *backup.Config) { c.Source = &otherSource{memSource{data: []byte("other")}} })
	mOther, err := wrong.Create(ctx)
	require.NoError(t, err)
	assert.Equal(t, "mem://other", mOther.SourceIdentity.Database)

	target := &memTarget{data: []byte("live data")}
	_, err = f.repo.Restore(ctx, "latest", target, backup.RestoreOptions{Force: true})
	require.ErrorIs(t, err, backup.ErrOtherSource)
	assert.Contains(t, err.Error(), "mem://other")
	assert.Equal(t, []byte("live data"), target.data)
}

// Attack: the newest backups are deleted from storage. Before the index,
// "latest" silently moved back to an older backup.
func TestRemovedNewestBackupIsReportedNotSkipped(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ms []*backup.Manifest
	for range 3 {
		m, err := f.repo.Create(ctx)
		require.NoError(t, err)
		ms = append(ms, m)
	}
	removeBackup(t, f.store.Dir(), ms[2].ID)

	entries, err := f.repo.List(ctx)
	require.NoError(t, err)
	require.Len(t, entries, 3, "the index keeps the removed backup in the list")
	assert.Equal(t, ms[2].ID, entries[2].ID)
	assert.ErrorIs(t, entries[2].Err, backup.ErrMissing)
	assert.Positive(t, entries[2].Seq)

	_, err = f.repo.Latest(ctx)
	var missing *backup.MissingError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, []string{ms[2].ID}, missing.IDs)
	target := &memTarget{}
	_, err = f.repo.Restore(ctx, "latest", target, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrMissing)
	assert.Contains(t, err.Error(), ms[2].ID)
	assert.False(t, target.restored)
	_, err = f.repo.Verify(ctx, "latest", backup.VerifyOptions{Level: backup.VerifyChecksum})
	require.ErrorIs(t, err, backup.ErrMissing)

	// An older backup named explicitly restores, and the plan names what is missing.
	var plan *backup.RestorePlan
	_, err = f.repo.Restore(ctx, ms[1].ID, target, backup.RestoreOptions{Confirm: func(_ context.Context, p *backup.RestorePlan) error {
		plan = p
		return nil
	}})
	require.NoError(t, err)
	require.NotNil(t, plan)
	assert.Contains(t, fmt.Sprint(plan.Warnings), ms[2].ID)

	// Forget is the operator's acknowledgement; it refuses a backup that is present.
	_, err = f.repo.Forget(ctx, ms[1].ID)
	require.Error(t, err)
	_, err = f.repo.Forget(ctx, ms[2].ID)
	require.NoError(t, err)
	assertLatest(t, f.repo, ms[1].ID)
}

func TestRemovedOlderBackupIsAWarningNotAnError(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m1 := f.create(t)
	m2 := f.create(t)
	removeBackup(t, f.store.Dir(), m1.ID)
	plan, err := f.repo.PlanRestore(ctx, "latest", &memTarget{}, backup.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, m2.ID, plan.Manifest.ID)
	assert.Contains(t, fmt.Sprint(plan.Warnings), m1.ID)
	inv, err := f.repo.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{m1.ID}, inv.Missing())
}

// Attack: the index is put back to an older signed version together with
// the removal of the newer backups. Only a witness outside the repository
// can tell; without one it cannot be detected (asserted below, as the
// documentation says).
func TestIndexRollbackIsReportedByAWitness(t *testing.T) {
	w := backup.FileWitness{Path: filepath.Join(t.TempDir(), "witness.json")}
	f := newFixture(t, func(c *backup.Config) { c.Witness = w })
	ctx := context.Background()
	m1 := f.create(t)
	indexPath := filepath.Join(f.store.Dir(), backup.IndexObject)
	old, err := os.ReadFile(indexPath)
	require.NoError(t, err)
	m2 := f.create(t)
	removeBackup(t, f.store.Dir(), m2.ID)
	require.NoError(t, os.WriteFile(indexPath, old, 0o600))

	inv, err := f.repo.Inventory(ctx)
	require.NoError(t, err)
	require.Len(t, inv.Problems, 1)
	assert.ErrorIs(t, inv.Problems[0], backup.ErrIndex)
	assert.Contains(t, inv.Problems[0].Error(), "rolled back")
	require.NotNil(t, inv.Index, "the older index is still validly signed and classifies the backups")
	assert.Len(t, inv.Index.Backups, 1)
	_, err = f.repo.Restore(ctx, "latest", &memTarget{}, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrIndex)
	_, err = f.repo.Create(ctx)
	require.ErrorIs(t, err, backup.ErrIndex, "no backup is written on top of a rolled-back index")

	// A client without a witness sees a consistent, older repository.
	blind := f.reopen(t)
	assertLatest(t, blind, m1.ID)

	// Rebuilding is the operator's explicit acceptance of the loss; the new
	// index starts above what the witness saw.
	before, ok, err := w.Load(ctx, m1.Repository)
	require.NoError(t, err)
	require.True(t, ok)
	res, err := f.repo.Init(ctx, backup.InitOptions{RebuildIndex: true})
	require.NoError(t, err)
	assert.True(t, res.Rebuilt)
	assert.Greater(t, res.Seq, before.Seq)
	assertLatest(t, f.repo, m1.ID)
}

func TestTamperedIndexIsReportedAndNotOverwritten(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t)
	indexPath := filepath.Join(f.store.Dir(), backup.IndexObject)
	b, err := os.ReadFile(indexPath)
	require.NoError(t, err)
	edited := strings.Replace(string(b), `"seq":`, `"seq": `, 1)
	require.NotEqual(t, string(b), edited)
	require.NoError(t, os.WriteFile(indexPath, []byte(edited), 0o600))

	inv, err := f.repo.Inventory(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, inv.Problems)
	assert.ErrorIs(t, inv.Problems[0], backup.ErrIndex)
	assert.ErrorIs(t, inv.Problems[0], backup.ErrIndex)
	_, err = f.repo.Latest(ctx)
	require.ErrorIs(t, err, backup.ErrIndex)
	_, err = f.repo.Create(ctx)
	require.ErrorIs(t, err, backup.ErrIndex)
	after, err := os.ReadFile(indexPath)
	require.NoError(t, err)
	assert.Equal(t, edited, string(after), "an untrusted index is never silently replaced")
	// The operator names the backup, and gets it, with the problem in the plan.
	plan, err := f.repo.PlanRestore(ctx, m.ID, &memTarget{}, backup.RestoreOptions{})
	require.NoError(t, err)
	assert.Contains(t, fmt.Sprint(plan.Warnings), "signature")
}

// Attack: the identity object is deleted, hoping the next run starts a
// new repository under which foreign backups look no worse than ours.
func TestRemovedIdentityIsReportedNotReplaced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t)
	require.NoError(t, os.Remove(filepath.Join(f.store.Dir(), backup.RepositoryObject)))

	_, err := f.repo.Create(ctx)
	require.ErrorIs(t, err, backup.ErrIndex, "the running Repository remembers its id")
	later := f.reopen(t)
	_, err = later.Create(ctx)
	var ie *backup.IndexError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, backup.RemedyRepositoryID, ie.Remedy)
	assert.Equal(t, m.Repository, ie.RepositoryID)
	_, err = os.Stat(filepath.Join(f.store.Dir(), backup.RepositoryObject))
	assert.True(t, os.IsNotExist(err), "no new identity was made")
	_, err = later.Restore(ctx, "latest", &memTarget{}, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrIndex)
	_, err = later.Restore(ctx, m.ID, &memTarget{}, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrOtherRepository, "without identity, no backup is known to be ours")

	_, err = later.Init(ctx, backup.InitOptions{})
	require.ErrorIs(t, err, backup.ErrIndex, "Init does not guess")
	recovered := f.reopen(t, func(c *backup.Config) { c.RepositoryID = m.Repository })
	res, err := recovered.Init(ctx, backup.InitOptions{})
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.Equal(t, m.Repository, res.Repository)
	assertLatest(t, recovered, m.ID)
}

func TestRemovedIndexIsReportedAndRebuiltOnlyOnRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t)
	require.NoError(t, os.Remove(filepath.Join(f.store.Dir(), backup.IndexObject)))
	_, err := f.repo.Latest(ctx)
	require.ErrorIs(t, err, backup.ErrIndex)
	_, err = f.repo.Create(ctx)
	require.ErrorIs(t, err, backup.ErrIndex)
	_, err = f.repo.Init(ctx, backup.InitOptions{})
	require.ErrorIs(t, err, backup.ErrIndex)
	res, err := f.repo.Init(ctx, backup.InitOptions{RebuildIndex: true})
	require.NoError(t, err)
	assert.True(t, res.Rebuilt)
	assertLatest(t, f.repo, m.ID)
}

// legacyRepository turns f's repository into one made before repository
// identities: v1 manifests, no identity object, no index.
func legacyRepository(t *testing.T, f *fixture, ms ...*backup.Manifest) {
	t.Helper()
	for _, m := range ms {
		legacy := *m
		legacy.Repository, legacy.SourceIdentity = "", nil
		data, err := backup.EncodeManifest(&legacy, f.key)
		require.NoError(t, err)
		require.Contains(t, string(data), backup.LegacyManifestType)
		require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir(), m.ID+".manifest.json"), data, 0o600))
	}
	require.NoError(t, os.Remove(filepath.Join(f.store.Dir(), backup.RepositoryObject)))
	require.NoError(t, os.Remove(filepath.Join(f.store.Dir(), backup.IndexObject)))
}

func TestLegacyRepositoryStaysReadable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m1 := f.create(t)
	legacyRepository(t, f, m1)
	repo := f.reopen(t)

	inv, err := repo.Inventory(ctx)
	require.NoError(t, err)
	assert.Empty(t, inv.Repository)
	assert.Empty(t, inv.Problems)
	require.Len(t, inv.Entries, 1)
	assert.True(t, inv.Entries[0].Manifest.Legacy())
	assert.ErrorIs(t, inv.Entries[0].Err, backup.ErrLegacy)
	_, err = repo.Verify(ctx, "latest", backup.VerifyOptions{Level: backup.VerifyFull})
	require.NoError(t, err, "a legacy backup verifies as before")

	target := &memTarget{}
	_, err = repo.Restore(ctx, "latest", target, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrLegacy)
	_, err = repo.Restore(ctx, "latest", target, backup.RestoreOptions{AllowLegacy: true})
	require.NoError(t, err)
	assert.Equal(t, f.payload, target.data)

	// The first Create gives the repository its identity; the legacy
	// backup is not adopted by it.
	m2, err := repo.Create(ctx)
	require.NoError(t, err)
	inv, err = repo.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, m2.Repository, inv.Repository)
	assert.ErrorIs(t, inv.Entries[0].Err, backup.ErrLegacy)
	assertLatest(t, repo, m2.ID)
	pruned, err := repo.Prune(ctx, backup.Policy{Last: 1}, true)
	require.NoError(t, err)
	require.Len(t, pruned.Skipped, 1, "prune leaves a backup that is not known to be ours")

	// Init with AdoptLegacy vouches for it.
	res, err := repo.Init(ctx, backup.InitOptions{AdoptLegacy: true})
	require.NoError(t, err)
	assert.Equal(t, []string{m1.ID}, res.Adopted)
	_, err = repo.Restore(ctx, m1.ID, &memTarget{}, backup.RestoreOptions{})
	require.NoError(t, err)
}

func TestLegacyManifestCopiedIntoAnIdentityRepositoryIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t)
	legacy := *m
	legacy.ID = "29991231T235959Z-0000abcd" // newer than anything
	legacy.Object = legacy.ID + ".backup"
	legacy.Repository, legacy.SourceIdentity = "", nil
	data, err := backup.EncodeManifest(&legacy, f.key)
	require.NoError(t, err)
	obj, err := os.ReadFile(filepath.Join(f.store.Dir(), m.Object))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir(), legacy.Object), obj, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir(), legacy.ID+".manifest.json"), data, 0o600))

	assertLatest(t, f.repo, m.ID)
	_, err = f.repo.Restore(ctx, legacy.ID, &memTarget{}, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrLegacy)
	// Updates of the index never adopt it either.
	_ = f.create(t)
	inv, err := f.repo.Inventory(ctx)
	require.NoError(t, err)
	for _, e := range inv.Index.Backups {
		assert.NotEqual(t, legacy.ID, e.ID)
	}
}

func TestVerifyWithoutSigningKeyIsNotRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t)
	reader, err := backup.New(backup.Config{Storage: f.store, VerifyKeys: []ed25519.PublicKey{f.key.Public()}, Identities: []age.Identity{f.ident}})
	require.NoError(t, err)
	defer func() { _ = reader.Close() }()
	v, err := reader.Verify(ctx, m.ID, backup.VerifyOptions{})
	require.NoError(t, err)
	assert.False(t, v.Recorded)
	entries, err := reader.List(ctx)
	require.NoError(t, err)
	assert.Nil(t, entries[0].Verification)
	v, err = f.repo.Verify(ctx, m.ID, backup.VerifyOptions{})
	require.NoError(t, err)
	assert.True(t, v.Recorded)
	entries, err = reader.List(ctx)
	require.NoError(t, err)
	require.NotNil(t, entries[0].Verification)
	assert.True(t, entries[0].Verification.Recorded)
}

// Two Repositories on one directory, as two processes would be, create
// backups at once: the directory's lock serialises the index updates, so
// none is lost from the index.
func TestConcurrentWritersKeepEveryBackupInTheIndex(t *testing.T) {
	f := newFixture(t, func(c *backup.Config) { c.Compression = backup.NoCompression })
	f.src.data = []byte("small")
	ctx := context.Background()
	_, err := f.repo.Create(ctx) // makes the identity
	require.NoError(t, err)
	second := f.reopen(t, func(c *backup.Config) { c.Compression = backup.NoCompression })
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		repo := f.repo
		if i%2 == 1 {
			repo = second
		}
		wg.Go(func() {
			_, err := repo.Create(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	inv, err := f.repo.Inventory(ctx)
	require.NoError(t, err)
	assert.Empty(t, inv.Problems)
	assert.Len(t, inv.Index.Backups, 9)
	for _, e := range inv.Entries {
		assert.NoError(t, e.Err)
		assert.Positive(t, e.Seq)
	}
}

// Attack: the newest backup's manifest is edited (its signature then
// fails). It must not silently move "latest" back either.
func TestDamagedNewestManifestStopsLatest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_ = f.create(t)
	m2 := f.create(t)
	p := filepath.Join(f.store.Dir(), m2.ID+".manifest.json")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), `"raw_size": `, `"raw_size": 1`, 1)), 0o600))
	_, err = f.repo.Latest(ctx)
	require.ErrorIs(t, err, backup.ErrIndex)
	assert.Contains(t, err.Error(), m2.ID)
}
