package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Waiting for another process's index update: it takes milliseconds, so
// polling starts fast; a holder stuck for minutes is reported, not waited
// for forever.
const (
	indexLockWait    = 2 * time.Minute
	indexLockPollMin = 10 * time.Millisecond
	indexLockPollMax = 500 * time.Millisecond
)

func (r *Repository) locker() Locker {
	if r.cfg.Lock != nil {
		return r.cfg.Lock
	}
	if l, ok := r.cfg.Storage.(Locker); ok {
		return l
	}
	return nil
}

// lockIndex serialises index updates: within the process by a mutex,
// between processes by the Locker, polled until it is free (TryLock does
// not wait) for at most indexLockWait.
func (r *Repository) lockIndex(ctx context.Context) (func(), error) {
	r.indexMu.Lock()
	l := r.locker()
	if l == nil {
		return r.indexMu.Unlock, nil
	}
	deadline := time.Now().Add(indexLockWait)
	delay := indexLockPollMin
	for {
		unlock, err := l.TryLock(ctx)
		if err == nil {
			return func() {
				if err := unlock(); err != nil {
					r.log.WarnContext(ctx, "backup: release the index lock", "error", err)
				}
				r.indexMu.Unlock()
			}, nil
		}
		if !errors.Is(err, ErrLocked) || !time.Now().Before(deadline) {
			r.indexMu.Unlock()
			return nil, fmt.Errorf("backup: lock the repository's index: %w", err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			r.indexMu.Unlock()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, indexLockPollMax)
	}
}

// readIndex reads and checks the index of ident's repository, and shows
// it to the Witness: (nil, nil) when there is none, an *IndexError when
// it is not trusted, belongs to another repository, or is older than the
// witness has seen — in that last case together with the index, which is
// validly signed and still tells which backups it lists.
func (r *Repository) readIndex(ctx context.Context, ident *RepositoryIdentity) (*Index, error) {
	data, err := r.readLimited(ctx, IndexObject, MaxIndexSize)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	idx, err := DecodeIndex(data, r.keys...)
	if err != nil {
		return nil, &IndexError{Reason: fmt.Sprintf("%s: %s", IndexObject, strings.TrimPrefix(err.Error(), "backup: ")), Remedy: RemedyRebuildIndex}
	}
	if idx.Repository != ident.ID {
		return nil, &IndexError{Reason: fmt.Sprintf("the index belongs to repository %s, and this is repository %s", idx.Repository, ident.ID), Remedy: RemedyRebuildIndex}
	}
	if err := r.witness(ctx, headOf(idx, data)); err != nil {
		return idx, err
	}
	return idx, nil
}

// writeIndex signs and stores idx, and shows it to the Witness.
func (r *Repository) writeIndex(ctx context.Context, idx *Index) error {
	data, err := EncodeIndex(idx, r.cfg.SigningKey)
	if err != nil {
		return err
	}
	if err := r.cfg.Storage.Put(ctx, IndexObject, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("backup: store %s: %w", IndexObject, err)
	}
	return r.witness(ctx, headOf(idx, data))
}

// indexUpdate is one change of the index: entries added take the next
// numbers, and the write itself takes one more.
type indexUpdate struct {
	idx      *Index
	seq      uint64
	changed  bool
	have     map[string]bool // names in storage
	manifest map[string]*Manifest
}

func (u *indexUpdate) add(m *Manifest, legacy bool) {
	if u.idx.entry(m.ID) != nil {
		return
	}
	u.seq++
	u.idx.Backups = append(u.idx.Backups, IndexEntry{ID: m.ID, Seq: u.seq, StartedAt: m.StartedAt, StoredSHA256: m.StoredSHA256, Legacy: legacy})
	u.changed = true
}

func (u *indexUpdate) remove(ids map[string]bool) {
	kept := u.idx.Backups[:0]
	for _, e := range u.idx.Backups {
		if ids[e.ID] {
			u.changed = true
			continue
		}
		kept = append(kept, e)
	}
	u.idx.Backups = kept
}

// scan reads the trusted manifests in storage that the index does not
// list yet.
func (r *Repository) scan(ctx context.Context, u *indexUpdate) error {
	names, err := r.cfg.Storage.List(ctx)
	if err != nil {
		return fmt.Errorf("backup: list: %w", err)
	}
	u.have = make(map[string]bool, len(names))
	u.manifest = map[string]*Manifest{}
	for _, n := range names {
		u.have[n] = true
		id, ok := strings.CutSuffix(n, ".manifest.json")
		if !ok || u.idx.entry(id) != nil {
			continue
		}
		if m, err := r.Manifest(ctx, id); err == nil {
			u.manifest[id] = m
		}
	}
	return nil
}

// heal adds the repository's own backups that the index lacks: a run
// that stopped between its manifest and its index update, or whose update
// was overwritten by another writer's. Only manifests naming this
// repository, signed by a trusted key, are added; legacy and foreign ones
// never are.
func (u *indexUpdate) heal(repository string) {
	ids := make([]string, 0, len(u.manifest))
	for id, m := range u.manifest {
		if m.Repository == repository {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		u.add(u.manifest[id], false)
	}
}

// finish gives a changed index its new number and time.
func (u *indexUpdate) finish() error {
	u.seq++
	if u.seq > maxSeq {
		return &IndexError{Reason: "the index's sequence number is exhausted"}
	}
	u.idx.Seq = u.seq
	u.idx.UpdatedAt = time.Now().UTC()
	return nil
}

// updateIndex applies change to the index under the locks, after adding
// the repository's unindexed backups, and stores it with a higher seq.
// It refuses to write over an index that is missing, not trusted, or
// older than the Witness has seen: Init repairs those, explicitly.
func (r *Repository) updateIndex(ctx context.Context, change func(*indexUpdate) error) (*Index, error) {
	if r.cfg.SigningKey == nil {
		return nil, errors.New("backup: Config.SigningKey is required to change the repository's index")
	}
	unlock, err := r.lockIndex(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ident, err := r.loadIdentity(ctx)
	if err != nil {
		return nil, err
	}
	if ident == nil {
		return nil, &IndexError{Reason: "the repository has no identity and no index yet", Remedy: RemedyInit}
	}
	idx, err := r.readIndex(ctx, ident)
	if err != nil {
		return nil, err // never written over: not trusted, or rolled back
	}
	if idx == nil {
		return nil, &IndexError{Reason: fmt.Sprintf("repository %s has no index (%s): removed?", ident.ID, IndexObject), Remedy: RemedyRebuildIndex}
	}
	u := &indexUpdate{idx: idx, seq: idx.Seq}
	if err := r.scan(ctx, u); err != nil {
		return nil, err
	}
	u.heal(ident.ID)
	if err := change(u); err != nil {
		return nil, err
	}
	if !u.changed {
		return idx, nil
	}
	if err := u.finish(); err != nil {
		return nil, err
	}
	if err := r.writeIndex(ctx, idx); err != nil {
		return nil, err
	}
	return idx, nil
}

// prepare returns the repository's identity before a Create, making the
// identity and an empty index if the repository has none (see Create).
func (r *Repository) prepare(ctx context.Context) (*RepositoryIdentity, error) {
	unlock, err := r.lockIndex(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res, err := r.initLocked(ctx, InitOptions{}, true)
	if err != nil {
		return nil, err
	}
	return &RepositoryIdentity{ID: res.Repository}, nil
}

// InitOptions configures Init.
type InitOptions struct {
	// AdoptLegacy adds the backups in storage whose manifests predate
	// repository identities to the index: the operator vouches that they
	// belong here. Until then they restore only with
	// RestoreOptions.AllowLegacy, and Prune leaves them alone.
	AdoptLegacy bool
	// RebuildIndex writes a new index from the manifests in storage that
	// name this repository, when the index is missing or not trusted. A
	// rebuilt index cannot tell which backups were removed before it: its
	// seq starts above what the Witness has seen, if there is one.
	RebuildIndex bool
}

// InitResult says what Init did.
type InitResult struct {
	Repository string
	// Created: a new identity object was written.
	Created bool
	// Rebuilt: a new index was written over a missing or untrusted one.
	Rebuilt bool
	// Adopted are the legacy backups added to the index.
	Adopted []string
	// Seq is the index's sequence number afterwards.
	Seq uint64
}

// Init gives the repository an identity and an index if it has none,
// and with opts adopts legacy backups or rebuilds a lost index. When
// backups in storage name a repository and its identity object is gone,
// Init recreates it only with that id in Config.RepositoryID. It needs
// Config.SigningKey.
func (r *Repository) Init(ctx context.Context, opts InitOptions) (*InitResult, error) {
	if r.cfg.SigningKey == nil {
		return nil, errors.New("backup: Config.SigningKey is required to initialise a repository")
	}
	unlock, err := r.lockIndex(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res, err := r.initLocked(ctx, opts, false)
	if err == nil {
		r.log.InfoContext(ctx, "backup repository initialised", "repository", res.Repository, "created", res.Created,
			"rebuilt", res.Rebuilt, "adopted", len(res.Adopted), "seq", res.Seq)
	}
	return res, err
}

// initLocked is Init under the index lock; auto is the quiet form a
// Create runs, which never recreates a removed identity, never rebuilds an
// index that backups depend on, and adopts nothing.
func (r *Repository) initLocked(ctx context.Context, opts InitOptions, auto bool) (*InitResult, error) {
	ident, created, err := r.identityForInit(ctx, auto)
	if err != nil {
		return nil, err
	}
	res := &InitResult{Repository: ident.ID, Created: created}
	idx, idxErr := r.readIndex(ctx, ident)
	if idxErr != nil && (!errors.Is(idxErr, ErrIndex) || !opts.RebuildIndex) {
		// Only an explicit RebuildIndex writes over an untrusted index,
		// or one the Witness says was rolled back: the operator accepts
		// that what it listed may be lost.
		return nil, idxErr
	}
	idx = nilIfErr(idx, idxErr)
	if idx != nil && !opts.AdoptLegacy {
		res.Seq = idx.Seq
		return res, nil // the common case: nothing to do
	}
	fresh := idx == nil
	if fresh {
		start, err := r.witnessedSeq(ctx, ident.ID)
		if err != nil {
			return nil, err
		}
		idx = &Index{Repository: ident.ID, Seq: start}
	}
	u := &indexUpdate{idx: idx, seq: idx.Seq}
	if err := r.scan(ctx, u); err != nil {
		return nil, err
	}
	ours := 0
	for _, m := range u.manifest {
		if m.Repository == ident.ID {
			ours++
		}
	}
	if fresh && !created && ours > 0 && !opts.RebuildIndex {
		return nil, &IndexError{Reason: fmt.Sprintf("repository %s has no index (%s) though %d backups name it: removed?", ident.ID, IndexObject, ours), Remedy: RemedyRebuildIndex}
	}
	res.Rebuilt = fresh && !created && ours > 0
	u.heal(ident.ID)
	if opts.AdoptLegacy && !auto {
		var legacy []string
		for id, m := range u.manifest {
			if m.Legacy() {
				legacy = append(legacy, id)
			}
		}
		slices.Sort(legacy)
		for _, id := range legacy {
			u.add(u.manifest[id], true)
		}
		res.Adopted = legacy
	}
	if !u.changed && !fresh {
		res.Seq = idx.Seq
		return res, nil
	}
	if err := u.finish(); err != nil {
		return nil, err
	}
	if err := r.writeIndex(ctx, idx); err != nil {
		return nil, err
	}
	res.Seq = idx.Seq
	return res, nil
}

func nilIfErr(idx *Index, err error) *Index {
	if err != nil {
		return nil
	}
	return idx
}

// identityForInit loads the identity, or makes one: a new id, or
// Config.RepositoryID to recreate a removed identity object.
func (r *Repository) identityForInit(ctx context.Context, auto bool) (*RepositoryIdentity, bool, error) {
	ri, err := r.readIdentity(ctx)
	if err != nil || ri != nil {
		return ri, false, err
	}
	if pinned := r.pinnedID(); pinned != "" {
		return nil, false, &IndexError{Reason: fmt.Sprintf("the identity object %s of repository %s was removed while this process used it", RepositoryObject, pinned), Remedy: RemedyRepositoryID, RepositoryID: pinned}
	}
	// Without identity: any trace of an earlier one means it was removed.
	probe := &indexUpdate{idx: &Index{}}
	if err := r.scan(ctx, probe); err != nil {
		return nil, false, err
	}
	named := ""
	for _, m := range probe.manifest {
		if !m.Legacy() {
			named = m.Repository
			break
		}
	}
	want := r.cfg.RepositoryID
	switch {
	case auto && want != "":
		return nil, false, &IndexError{Reason: fmt.Sprintf("the repository has no identity object (%s), but repository %s is expected: removed?", RepositoryObject, want), Remedy: RemedyRepositoryID, RepositoryID: want}
	case named != "" && want == "":
		return nil, false, &IndexError{Reason: fmt.Sprintf("backups name repository %s, but there is no identity object (%s): removed?", named, RepositoryObject), Remedy: RemedyRepositoryID, RepositoryID: named}
	case auto && probe.have[IndexObject]:
		return nil, false, &IndexError{Reason: fmt.Sprintf("there is an index (%s) but no identity object (%s): removed?", IndexObject, RepositoryObject)}
	}
	ri, err = newRepositoryIdentity(time.Now())
	if err != nil {
		return nil, false, err
	}
	if want != "" {
		ri.ID = want
	}
	data, err := EncodeRepositoryIdentity(ri, r.cfg.SigningKey)
	if err == nil {
		err = r.cfg.Storage.Put(ctx, RepositoryObject, bytes.NewReader(data))
	}
	if err != nil {
		return nil, false, fmt.Errorf("backup: store %s: %w", RepositoryObject, err)
	}
	r.pin(ri.ID)
	r.log.InfoContext(ctx, "backup repository identity created", "repository", ri.ID)
	return ri, true, nil
}

// witnessedSeq is where a new index starts: above what the Witness has
// seen of this repository, so that the witness does not take the new
// index for a rolled-back one; 0 without a witness.
func (r *Repository) witnessedSeq(ctx context.Context, repository string) (uint64, error) {
	if r.cfg.Witness == nil {
		return 0, nil
	}
	head, ok, err := r.cfg.Witness.Load(ctx, repository)
	if err != nil {
		return 0, fmt.Errorf("backup: index witness: %w", err)
	}
	if !ok {
		return 0, nil
	}
	return head.Seq, nil
}

// Forget removes backups that storage no longer has from the index, once
// an operator has established why they are gone: until then List and
// Restore report them (ErrMissing). A backup still in storage is refused:
// Prune removes those.
func (r *Repository) Forget(ctx context.Context, ids ...string) (*Index, error) {
	if len(ids) == 0 {
		return nil, errors.New("backup: Forget needs the ids of the missing backups")
	}
	idx, err := r.updateIndex(ctx, func(u *indexUpdate) error {
		drop := map[string]bool{}
		for _, id := range ids {
			switch {
			case u.idx.entry(id) == nil:
				return fmt.Errorf("%w: %s is not in the index", ErrNotFound, id)
			case u.have[manifestName(id)]:
				return fmt.Errorf("backup: %s is in storage, not missing: Prune removes backups", id)
			}
			drop[id] = true
		}
		u.remove(drop)
		return nil
	})
	if err == nil {
		r.log.InfoContext(ctx, "backup: missing backups forgotten", "ids", strings.Join(ids, ","), "seq", idx.Seq)
	}
	return idx, err
}
