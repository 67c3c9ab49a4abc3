package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Entry is one backup: found in storage, listed in the index, or both.
type Entry struct {
	ID string
	// Manifest is nil when the manifest is missing or not trusted.
	Manifest *Manifest
	// Verification is the latest signed verification record, if any.
	Verification *Verification
	// Seq is the backup's number in the repository's index; 0 when the
	// index does not list it.
	Seq uint64
	// Err says why the backup cannot be used as it is: its manifest is
	// not trusted (ErrSignature, ErrMalformed), the index lists it but
	// storage lacks it (ErrMissing), or it belongs to another repository
	// or predates identities (ErrOtherRepository, ErrLegacy: a
	// *RefusedError naming the RestoreOptions field that allows it). Such
	// backups are listed but never pruned, nor restored without that
	// option.
	Err error

	started time.Time // from the index, for an entry without manifest
}

// StartedAt is when the backup started, from its manifest or, for a
// missing backup, from the index.
func (e Entry) StartedAt() time.Time {
	if e.Manifest != nil {
		return e.Manifest.StartedAt
	}
	return e.started
}

// Inventory is the state of a repository: its identity, its index and its
// backups, checked against one another.
type Inventory struct {
	// Repository is the repository's id; empty when it has no identity
	// (made before identities, or never written to).
	Repository string
	// Index is the repository's verified index, nil if it has none.
	Index *Index
	// Entries are every backup in storage and every backup the index
	// lists, oldest first.
	Entries []Entry
	// Problems of the repository as a whole, each matching ErrIndex: the
	// identity or the index missing, not trusted, inconsistent, or older
	// than the Witness has seen. While there are any, "latest" is not
	// resolved: the newest backup cannot be told.
	Problems []error
}

// Missing returns the ids of the backups the index lists and storage lacks.
func (inv *Inventory) Missing() []string {
	var ids []string
	for _, e := range inv.Entries {
		if errors.Is(e.Err, ErrMissing) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Inventory reads the repository's identity, index and manifests and
// checks them against one another. It fails only when storage cannot be
// read; what it finds wrong is in Problems and in each Entry's Err.
func (r *Repository) Inventory(ctx context.Context) (*Inventory, error) {
	names, err := r.cfg.Storage.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: list: %w", err)
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	inv := &Inventory{}
	problem := func(err error) error {
		if !errors.Is(err, ErrIndex) {
			return err
		}
		inv.Problems = append(inv.Problems, err)
		return nil
	}
	ident, err := r.loadIdentity(ctx)
	if err != nil {
		if err := problem(err); err != nil {
			return nil, err
		}
	}
	if ident != nil {
		inv.Repository = ident.ID
		idx, err := r.readIndex(ctx, ident)
		switch {
		case err != nil:
			if err := problem(err); err != nil {
				return nil, err
			}
		case idx == nil:
			_ = problem(&IndexError{Reason: fmt.Sprintf("repository %s has no index (%s): removed?", ident.ID, IndexObject), Remedy: RemedyRebuildIndex})
		}
		inv.Index = idx
	} else if err == nil && have[IndexObject] {
		_ = problem(&IndexError{Reason: fmt.Sprintf("there is an index (%s) but no identity object (%s): removed?", IndexObject, RepositoryObject)})
	}

	listed := map[string]bool{}
	named := "" // a repository named by a manifest while there is no identity
	for _, n := range names {
		id, ok := strings.CutSuffix(n, ".manifest.json")
		if !ok {
			continue
		}
		e := r.entry(ctx, id, ident, inv.Index, have)
		if ident == nil && e.Manifest != nil && !e.Manifest.Legacy() && named == "" {
			named = e.Manifest.Repository
		}
		listed[id] = true
		inv.Entries = append(inv.Entries, e)
	}
	if named != "" && err == nil {
		_ = problem(&IndexError{Reason: fmt.Sprintf("backups name repository %s, but there is no identity object (%s): removed?", named, RepositoryObject), Remedy: RemedyRepositoryID, RepositoryID: named})
	}
	if inv.Index != nil {
		for _, ie := range inv.Index.Backups {
			if !listed[ie.ID] {
				inv.Entries = append(inv.Entries, Entry{ID: ie.ID, Seq: ie.Seq, started: ie.StartedAt, Err: &MissingError{IDs: []string{ie.ID}}})
			}
		}
	}
	slices.SortFunc(inv.Entries, compareEntries)
	return inv, nil
}

// compareEntries orders by start time, then id. An entry with neither
// manifest nor index entry (an untrusted manifest) has no time and comes
// first: it is never "latest".
func compareEntries(a, b Entry) int {
	if c := a.StartedAt().Compare(b.StartedAt()); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// entry loads backup id and classifies it against the identity and index.
func (r *Repository) entry(ctx context.Context, id string, ident *RepositoryIdentity, idx *Index, have map[string]bool) Entry {
	e := Entry{ID: id}
	var ie *IndexEntry
	if idx != nil {
		if ie = idx.entry(id); ie != nil {
			e.Seq, e.started = ie.Seq, ie.StartedAt
		}
	}
	e.Manifest, e.Err = r.Manifest(ctx, id)
	if e.Err != nil {
		return e
	}
	if have[verificationName(id)] {
		e.Verification, _ = r.verification(ctx, e.Manifest)
	}
	if ie != nil && ie.StoredSHA256 != e.Manifest.StoredSHA256 {
		e.Err = fmt.Errorf("%w: the manifest of %s does not match its index entry (replaced manifest?)", ErrSignature, id)
		return e
	}
	e.Err = belongs(e.Manifest, ident, ie)
	return e
}

// belongs says whether m belongs to the repository, as a *RefusedError
// when it does not.
func belongs(m *Manifest, ident *RepositoryIdentity, ie *IndexEntry) error {
	switch {
	case !m.Legacy() && ident != nil && m.Repository == ident.ID:
		return nil
	case !m.Legacy() && ident != nil:
		return refused(m.ID, ErrOtherRepository, fmt.Sprintf("it was made in repository %s, and this is repository %s", m.Repository, ident.ID))
	case !m.Legacy():
		return refused(m.ID, ErrOtherRepository, fmt.Sprintf("it names repository %s, and this repository has no identity object", m.Repository))
	case ident != nil && ie != nil && ie.Legacy:
		return nil
	case ident != nil:
		return refused(m.ID, ErrLegacy, "its manifest predates repository identities ("+LegacyManifestType+") and this repository's index does not vouch for it")
	default:
		return refused(m.ID, ErrLegacy, "its manifest predates repository identities ("+LegacyManifestType+") and this repository has no identity yet")
	}
}

var refusalOption = map[error]string{
	ErrOtherRepository: "AllowOtherRepository",
	ErrOtherSource:     "AllowOtherSource",
	ErrLegacy:          "AllowLegacy",
	ErrTargetNotEmpty:  "Force",
}

func refused(id string, kind error, reason string) *RefusedError {
	return &RefusedError{ID: id, Reason: reason, Option: refusalOption[kind], kind: kind}
}

// latest returns the newest usable backup: of this repository, or, in a
// repository without identity, the newest legacy one. It refuses while
// the repository has problems, and when the index lists a newer backup
// that storage lacks: a removed backup must not silently move "latest"
// back.
func (inv *Inventory) latest() (*Entry, error) {
	if len(inv.Problems) > 0 {
		reasons := make([]string, len(inv.Problems))
		for i, p := range inv.Problems {
			reasons[i] = p.Error()
			var ie *IndexError
			if errors.As(p, &ie) {
				reasons[i] = ie.Reason
			}
		}
		return nil, &IndexError{Reason: "the latest backup cannot be told: " + strings.Join(reasons, "; "), Remedy: RemedyChooseBackup}
	}
	best := -1
	for i, e := range inv.Entries {
		if e.Manifest == nil {
			continue
		}
		if e.Err == nil || (inv.Repository == "" && errors.Is(e.Err, ErrLegacy)) {
			best = i
		}
	}
	// Newer backups that the index lists and that cannot be used: removed,
	// or their manifest damaged or replaced.
	var missing, damaged []string
	for _, e := range inv.Entries[best+1:] {
		switch {
		case errors.Is(e.Err, ErrMissing):
			missing = append(missing, e.ID)
		case e.Seq > 0 && e.Err != nil:
			damaged = append(damaged, e.ID+": "+e.Err.Error())
		}
	}
	if len(missing) > 0 {
		return nil, &MissingError{IDs: missing}
	}
	if len(damaged) > 0 {
		return nil, &IndexError{Reason: "newer backups listed in the index cannot be used: " + strings.Join(damaged, "; "), Remedy: RemedyChooseBackup}
	}
	if best < 0 {
		return nil, fmt.Errorf("%w: no valid backup in storage", ErrNotFound)
	}
	return &inv.Entries[best], nil
}

// find returns the entry for id, or nil.
func (inv *Inventory) find(id string) *Entry {
	for i := range inv.Entries {
		if inv.Entries[i].ID == id {
			return &inv.Entries[i]
		}
	}
	return nil
}

// List returns every backup in storage and every backup the index lists,
// oldest first (Inventory without the repository-wide problems).
func (r *Repository) List(ctx context.Context) ([]Entry, error) {
	inv, err := r.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	return inv.Entries, nil
}

// Manifest loads and checks the manifest of backup id: its signature and
// form, not whether it belongs to this repository (Inventory says that).
func (r *Repository) Manifest(ctx context.Context, id string) (*Manifest, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: %q is not a backup id", ErrNotFound, id)
	}
	data, err := r.readSmall(ctx, manifestName(id))
	if err != nil {
		return nil, err
	}
	m, err := DecodeManifest(data, r.keys...)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", id, err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("%w: manifest %s describes backup %s (swapped manifest?)", ErrSignature, manifestName(id), m.ID)
	}
	return m, nil
}

// Latest returns the newest backup of this repository. It fails with an
// error matching ErrIndex while the repository's identity or index has a
// problem, and with a *MissingError when the index lists a newer backup
// that storage lacks.
func (r *Repository) Latest(ctx context.Context) (*Manifest, error) {
	inv, err := r.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	e, err := inv.latest()
	if err != nil {
		return nil, err
	}
	return e.Manifest, nil
}

// resolve returns the manifest for id, or the latest for "" and "latest".
func (r *Repository) resolve(ctx context.Context, id string) (*Manifest, error) {
	if id == "" || id == "latest" {
		return r.Latest(ctx)
	}
	return r.Manifest(ctx, id)
}

func (r *Repository) readSmall(ctx context.Context, name string) ([]byte, error) {
	return r.readLimited(ctx, name, maxRecordSize)
}

// readLimited reads at most limit+1 bytes, so that the decoder sees an
// oversized object as oversized rather than as a truncated one.
func (r *Repository) readLimited(ctx context.Context, name string, limit int64) ([]byte, error) {
	rc, err := r.cfg.Storage.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("backup: read %s: %w", name, err)
	}
	return data, nil
}

func (r *Repository) verification(ctx context.Context, m *Manifest) (*Verification, error) {
	data, err := r.readSmall(ctx, verificationName(m.ID))
	if err != nil {
		return nil, err
	}
	v, err := decodeVerification(data, r.keys)
	if err != nil {
		return nil, err
	}
	if v.ID != m.ID || v.StoredSHA256 != m.StoredSHA256 {
		return nil, fmt.Errorf("%w: verification record does not match backup %s", ErrSignature, m.ID)
	}
	v.Recorded = true
	return v, nil
}
