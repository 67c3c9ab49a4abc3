package backup

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Prune applies p to the backups in storage. With dryRun it only returns
// the decisions. Otherwise it deletes each removed backup's manifest
// first (so the backup disappears at once and no manifest ever points at
// a missing object), then its object and verification record. Backups
// whose manifest is not trusted are never deleted; they are reported in
// Skipped.
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
