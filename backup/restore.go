package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// RestoreOptions configures Restore. Each Allow field permits one kind of
// restore that is refused by default with a *RefusedError naming it.
type RestoreOptions struct {
	// Force allows restoring into a target that holds data, replacing it.
	Force bool
	// AllowOtherSource allows restoring a backup of another database than
	// the target (by SourceIdentity): into a staging copy, or onto a new
	// server after losing the old one.
	AllowOtherSource bool
	// AllowOtherRepository allows restoring a backup made in another
	// repository (its manifest names another repository id), or one that
	// names a repository while this one has no identity object.
	AllowOtherRepository bool
	// AllowLegacy allows restoring a backup whose manifest predates
	// repository identities and that the index does not vouch for (see
	// InitOptions.AdoptLegacy).
	AllowLegacy bool
	// Confirm, if set, is called with the plan after every check —
	// including the full read of the stored object — and before anything
	// is written to the target; an error it returns stops the restore and
	// is returned. A command-line tool prints the plan here.
	Confirm func(ctx context.Context, plan *RestorePlan) error
}

func (o RestoreOptions) allows(option string) bool {
	switch option {
	case "Force":
		return o.Force
	case "AllowOtherSource":
		return o.AllowOtherSource
	case "AllowOtherRepository":
		return o.AllowOtherRepository
	case "AllowLegacy":
		return o.AllowLegacy
	}
	return false
}

// RestorePlan is what a restore is about to do, for the operator to see
// before it writes.
type RestorePlan struct {
	Manifest *Manifest
	// Repository is this repository's id; empty if it has none.
	Repository string
	// Seq is the backup's number in the index; 0 if the index does not
	// list it.
	Seq uint64
	// Source is what the backup is of: its SourceIdentity, or for a
	// legacy manifest the source name it recorded.
	Source string
	// Target is what it will be restored into (the target's identity),
	// TargetName the target's own description.
	Target, TargetName string
	// Age is the time since the backup finished.
	Age time.Duration
	// Verification is the last recorded verification; nil if none.
	Verification *Verification
	// TargetEmpty is false when the target holds data that the restore
	// replaces (allowed by Force).
	TargetEmpty bool
	// Checked: the stored object was just read in full and matched the
	// manifest's size and SHA-256. Always true when Confirm is called.
	Checked bool
	// Overridden are the refusals that options allowed.
	Overridden []*RefusedError
	// Warnings are facts about the repository an operator should know:
	// problems of the identity or index (*IndexError), missing backups
	// (*MissingError), a backup not in the index yet. They are errors so
	// that a tool can word their remedies its own way; none stopped the
	// restore.
	Warnings []error
}

// Restore restores backup id ("" or "latest" for the newest) into target.
// First it plans (PlanRestore): the manifest's signature, driver,
// repository and source against the target, the index, and whether the
// target is empty, each refusal allowed only by its option. Then it reads
// the whole stored object against its checksum, calls opts.Confirm with
// the plan, and only then streams the object through decryption and
// decompression into the target, which sees a read error, never a clean
// end, if the plain dump does not match the manifest.
func (r *Repository) Restore(ctx context.Context, id string, target Target, opts RestoreOptions) (m *Manifest, err error) {
	if target == nil {
		return nil, errors.New("backup: Restore needs a target")
	}
	start := time.Now()
	ctx, span := r.tracer.Start(ctx, "backup.restore")
	defer func() { endSpan(span, err) }()
	defer func() { r.inst.recordOp(ctx, "restore", target.Driver(), start, err) }()

	plan, err := r.PlanRestore(ctx, id, target, opts)
	if err != nil {
		return nil, err
	}
	m = plan.Manifest
	if err := r.checkStored(ctx, m); err != nil {
		return nil, err
	}
	plan.Checked = true
	if opts.Confirm != nil {
		if err := opts.Confirm(ctx, plan); err != nil {
			return nil, err
		}
	}
	overridden := make([]string, len(plan.Overridden))
	for i, o := range plan.Overridden {
		overridden[i] = o.Option
	}
	r.log.InfoContext(ctx, "restore starting", "id", m.ID, "source", plan.Source, "target", plan.Target,
		"seq", plan.Seq, "overridden", overridden, "warnings", len(plan.Warnings))
	err = r.readPlain(ctx, m, func(plain io.Reader) error {
		if err := target.Restore(ctx, plain, opts.Force); err != nil {
			return fmt.Errorf("backup: restore %s into %s: %w", m.ID, target.Name(), err)
		}
		return nil
	})
	if err != nil {
		r.log.ErrorContext(ctx, "restore failed", "id", m.ID, "target", target.Name(), "error", err)
		return nil, err
	}
	r.log.InfoContext(ctx, "backup restored", "id", m.ID, "target", target.Name(), "duration", time.Since(start))
	return m, nil
}

// PlanRestore makes every check of Restore except the full read of the
// stored object, and writes nothing. It resolves "latest" (refusing while
// the index has problems or lists a newer backup that storage lacks), and
// refuses, unless opts allows it, a backup of another repository or
// source, a legacy backup the index does not vouch for, and a target that
// holds data.
func (r *Repository) PlanRestore(ctx context.Context, id string, target Target, opts RestoreOptions) (*RestorePlan, error) {
	if target == nil {
		return nil, errors.New("backup: PlanRestore needs a target")
	}
	inv, err := r.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	var e *Entry
	latest := id == "" || id == "latest"
	if latest {
		if e, err = inv.latest(); err != nil {
			return nil, err
		}
	} else if e = inv.find(id); e == nil {
		return nil, fmt.Errorf("%w: no backup %q", ErrNotFound, id)
	}
	var refusals []*RefusedError
	if e.Err != nil {
		var re *RefusedError
		if e.Manifest == nil || !errors.As(e.Err, &re) {
			return nil, e.Err // not trusted, or missing
		}
		refusals = append(refusals, re)
	}
	m := e.Manifest
	if m.Driver != target.Driver() {
		return nil, fmt.Errorf("%w: backup %s is %s, target is %s", ErrDriverMismatch, m.ID, m.Driver, target.Driver())
	}
	targetID := IdentityOf(target)
	plan := &RestorePlan{Manifest: m, Repository: inv.Repository, Seq: e.Seq, Source: m.Source,
		Target: targetID.String(), TargetName: target.Name(), Age: time.Since(m.FinishedAt), Verification: e.Verification}
	if m.SourceIdentity != nil {
		plan.Source = m.SourceIdentity.String()
		if *m.SourceIdentity != targetID {
			refusals = append(refusals, refused(m.ID, ErrOtherSource, fmt.Sprintf("it is a backup of %s, and the target is %s", plan.Source, plan.Target)))
		}
	} else if m.Source != target.Name() {
		// A legacy manifest recorded only the source's name.
		refusals = append(refusals, refused(m.ID, ErrOtherSource, fmt.Sprintf("it is a backup of %s, and the target is %s", m.Source, target.Name())))
	}
	if plan.TargetEmpty, err = target.Empty(ctx); err != nil {
		return nil, fmt.Errorf("backup: inspect target %s: %w", target.Name(), err)
	}
	if !plan.TargetEmpty {
		refusals = append(refusals, refused(m.ID, ErrTargetNotEmpty, fmt.Sprintf("the target %s is not empty", target.Name())))
	}
	for _, re := range refusals {
		if !opts.allows(re.Option) {
			return nil, re
		}
		plan.Overridden = append(plan.Overridden, re)
	}
	plan.Warnings = inv.warnings(e)
	return plan, nil
}

// warnings lists what an operator restoring e should know about the
// repository.
func (inv *Inventory) warnings(e *Entry) []error {
	w := slices.Clone(inv.Problems)
	if missing := inv.Missing(); len(missing) > 0 {
		w = append(w, &MissingError{IDs: missing})
	}
	if inv.Repository == "" {
		w = append(w, errors.New("backup: the repository has no identity: its backups cannot be told from ones copied in from elsewhere"))
	} else if e.Seq == 0 && e.Err == nil {
		w = append(w, fmt.Errorf("backup: %s is not in the index yet (its index update did not finish; the next one adds it)", e.ID))
	}
	return w
}
