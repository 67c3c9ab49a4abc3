package backup

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Prune applies p to the backups of this repository. With dryRun it only
// returns the decisions. Otherwise it first removes the backups from the
// signed index (so they are not reported missing), then deletes each one's
// manifest (so the backup disappears at once and no manifest ever points
// at a missing object), then its object and verification record. Backups
// with an Entry.Err — manifest not trusted, missing from storage, of
// another repository, legacy and not adopted — are never deleted; they
// are reported in Skipped. Removing needs Config.SigningKey (the index is
// signed).
func (r *Repository) Prune(ctx context.Context, p Policy, dryRun bool) (res *PruneResult, err error) {
	start := time.Now()
	ctx, span := r.tracer.Start(ctx, "backup.prune")
	defer func() { endSpan(span, err) }()
	defer func() { r.inst.recordOp(ctx, "prune", "", start, err) }()

	entries, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	res = &PruneResult{}
	var snaps []Snapshot
	for _, e := range entries {
		if e.Err != nil {
			res.Skipped = append(res.Skipped, e)
			continue
		}
		snaps = append(snaps, Snapshot{ID: e.ID, Time: e.Manifest.StartedAt, Verified: e.Verification != nil})
	}
	res.Decisions, err = ApplyPolicy(snaps, p)
	if err != nil {
		return nil, err
	}
	if dryRun {
		return res, nil
	}
	drop := map[string]bool{}
	for _, d := range res.Decisions {
		if !d.Keep {
			drop[d.ID] = true
		}
	}
	if len(drop) == 0 {
		return res, nil
	}
	// A crash after this leaves manifests the index no longer lists; the
	// next update of the index adds them back, and a later Prune removes
	// them again: nothing is reported missing, nothing is lost.
	if _, err := r.updateIndex(ctx, func(u *indexUpdate) error {
		u.remove(drop)
		return nil
	}); err != nil {
		return res, err
	}
	var errs []error
	for _, d := range res.Decisions {
		if d.Keep {
			continue
		}
		if err := r.cfg.Storage.Delete(ctx, manifestName(d.ID)); err != nil {
			errs = append(errs, fmt.Errorf("backup: delete %s: %w", d.ID, err))
			continue
		}
		res.Removed = append(res.Removed, d.ID)
		errs = append(errs, r.cfg.Storage.Delete(ctx, objectName(d.ID)), r.cfg.Storage.Delete(ctx, verificationName(d.ID)))
		r.log.InfoContext(ctx, "backup pruned", "id", d.ID)
	}
	return res, errors.Join(errs...)
}
