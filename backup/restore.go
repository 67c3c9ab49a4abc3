package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// RestoreOptions configures Restore.
type RestoreOptions struct {
	// Force allows restoring into a target that holds data, replacing it.
	Force bool
}

// Restore restores backup id ("" or "latest" for the newest) into target,
// which may be the database it came from or another one of the same
// driver. Before anything is written it checks the manifest's signature
// and the stored object's size and SHA-256 (a full read); then it streams
// the object through decryption and decompression into the target, which
// sees a read error, never a clean end, if the plain dump does not match
// the manifest. A target that is not empty is refused unless opts.Force.
func (r *Repository) Restore(ctx context.Context, id string, target Target, opts RestoreOptions) (m *Manifest, err error) {
	if target == nil {
		return nil, errors.New("backup: Restore needs a target")
	}
	start := time.Now()
	ctx, span := r.tracer.Start(ctx, "backup.restore")
	defer func() { endSpan(span, err) }()
	defer func() { r.inst.recordOp(ctx, "restore", target.Driver(), start, err) }()

	m, err = r.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Driver != target.Driver() {
		return nil, fmt.Errorf("%w: backup %s is %s, target is %s", ErrDriverMismatch, m.ID, m.Driver, target.Driver())
	}
	if !opts.Force {
		empty, err := target.Empty(ctx)
		if err != nil {
			return nil, fmt.Errorf("backup: inspect target %s: %w", target.Name(), err)
		}
		if !empty {
			return nil, fmt.Errorf("%w: %s (use Force to replace its content)", ErrTargetNotEmpty, target.Name())
		}
	}
	if err := r.checkStored(ctx, m); err != nil {
		return nil, err
	}
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
