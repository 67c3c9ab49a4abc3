package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
)

// Level is how deeply Verify checks a backup. Each level includes the
// ones before it.
type Level int

const (
	// VerifyChecksum reads the stored object and compares its size and
	// SHA-256 with the signed manifest. It needs no decryption key.
	VerifyChecksum Level = iota + 1
	// VerifyFull also decrypts and decompresses the object and compares
	// the plain dump's size and SHA-256.
	VerifyFull
	// VerifyRestore also restores the dump into a scratch database
	// (VerifyOptions.Trial), checks it and runs the sanity query.
	VerifyRestore
)

var levelNames = map[Level]string{VerifyChecksum: "checksum", VerifyFull: "full", VerifyRestore: "restore"}

func (l Level) String() string {
	if s, ok := levelNames[l]; ok {
		return s
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel accepts "checksum", "full" or "restore".
func ParseLevel(s string) (Level, error) {
	for l, n := range levelNames {
		if n == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("backup: unknown verify level %q (want checksum, full or restore)", s)
}

// MarshalText encodes the level by name.
func (l Level) MarshalText() ([]byte, error) {
	if _, ok := levelNames[l]; !ok {
		return nil, fmt.Errorf("backup: unknown verify level %d", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText decodes a level name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Level defaults to VerifyFull.
	Level Level
	// Trial receives the trial restore; required for VerifyRestore.
	Trial TrialTarget
	// SanityQuery runs against the trial restore, e.g.
	// "SELECT count(*) FROM orders"; it must succeed and return a row.
	SanityQuery string
}

// Verify checks backup id ("" or "latest" for the newest) at the given
// level. Every failure of the object matches ErrCorrupt; a manifest that
// is not trusted matches ErrSignature. On success, and if the repository
// has a SigningKey, a signed verification record is stored beside the
// backup (prune never removes the newest verified backup) and the result
// has Recorded set; without a SigningKey nothing is stored, and Recorded
// is false.
//
// Verify proves that the stored object is the one the signed manifest
// describes (and, by level, that it decrypts and decompresses to the
// recorded dump, and restores). It does not prove that the backup belongs
// to this repository or source: Inventory and Restore check that.
func (r *Repository) Verify(ctx context.Context, id string, opts VerifyOptions) (v *Verification, err error) {
	if opts.Level == 0 {
		opts.Level = VerifyFull
	}
	if _, ok := levelNames[opts.Level]; !ok {
		return nil, fmt.Errorf("backup: VerifyOptions.Level %d is unknown", int(opts.Level))
	}
	if opts.Level == VerifyRestore && opts.Trial == nil {
		return nil, errors.New("backup: VerifyOptions.Trial is required for VerifyRestore")
	}
	start := time.Now()
	ctx, span := r.tracer.Start(ctx, "backup.verify")
	defer func() { endSpan(span, err) }()
	driver := ""
	defer func() { r.inst.recordOp(ctx, "verify", driver, start, err) }()

	m, err := r.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	driver = m.Driver
	if opts.Level == VerifyRestore && opts.Trial.Driver() != m.Driver {
		return nil, fmt.Errorf("%w: backup %s is %s, trial target is %s", ErrDriverMismatch, m.ID, m.Driver, opts.Trial.Driver())
	}
	detail := ""
	switch opts.Level {
	case VerifyChecksum:
		err = r.checkStored(ctx, m)
	case VerifyFull:
		err = r.readPlain(ctx, m, func(plain io.Reader) error {
			_, err := io.Copy(io.Discard, plain)
			return err
		})
	case VerifyRestore:
		err = r.readPlain(ctx, m, func(plain io.Reader) error {
			var terr error
			detail, terr = opts.Trial.TrialRestore(ctx, plain, opts.SanityQuery)
			if terr != nil {
				return fmt.Errorf("backup: trial restore of %s: %w", m.ID, terr)
			}
			return nil
		})
	}
	if err != nil {
		r.log.ErrorContext(ctx, "backup verify failed", "id", m.ID, "level", opts.Level.String(), "error", err)
		return nil, err
	}
	v = &Verification{ID: m.ID, Level: opts.Level, VerifiedAt: time.Now().UTC(), StoredSHA256: m.StoredSHA256, Detail: detail}
	if r.cfg.SigningKey != nil {
		data, serr := seal(VerificationType, v, r.cfg.SigningKey)
		if serr == nil {
			serr = r.cfg.Storage.Put(ctx, verificationName(m.ID), bytes.NewReader(data))
		}
		if serr != nil {
			return v, fmt.Errorf("backup: %s verified but the record could not be stored: %w", m.ID, serr)
		}
		v.Recorded = true
	}
	r.log.InfoContext(ctx, "backup verified", "id", m.ID, "level", opts.Level.String(), "duration", time.Since(start))
	return v, nil
}

// checkStored reads the whole object and compares it with the manifest.
func (r *Repository) checkStored(ctx context.Context, m *Manifest) error {
	rc, err := r.cfg.Storage.Get(ctx, m.Object)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return &CorruptError{ID: m.ID, Reason: "stored object " + m.Object + " is missing"}
		}
		return err
	}
	defer func() { _ = rc.Close() }()
	_, err = io.Copy(io.Discard, newCheckedReader(rc, m.ID, "stored object", m.StoredSize, m.StoredSHA256))
	return err
}

// readPlain streams the object, checked against the manifest, through
// decryption and decompression into fn, then checks the plain dump's size
// and SHA-256. fn sees a read error rather than a clean EOF when anything
// does not match.
func (r *Repository) readPlain(ctx context.Context, m *Manifest, fn func(io.Reader) error) error {
	rc, err := r.cfg.Storage.Get(ctx, m.Object)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return &CorruptError{ID: m.ID, Reason: "stored object " + m.Object + " is missing"}
		}
		return err
	}
	defer func() { _ = rc.Close() }()
	stored := newCheckedReader(rc, m.ID, "stored object", m.StoredSize, m.StoredSHA256)
	op, err := newOpener(stored, m.Compression, m.Encryption.Scheme != "none", r.cfg.Identities)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.Is(err, errNoIdentities) {
			return err
		}
		if errors.As(err, &noMatch) {
			return fmt.Errorf("backup: %s: none of Config.Identities can decrypt it: %w", m.ID, err)
		}
		return corruptOr(m.ID, err)
	}
	defer op.Close()
	plain := newCheckedReader(decodeErrReader{op, m.ID}, m.ID, "plain dump", m.RawSize, m.RawSHA256)
	if err := fn(plain); err != nil {
		return err
	}
	// The consumer may stop before EOF (a tool that read what it needed):
	// drain, so that the checksums cover everything.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return corruptOr(m.ID, err)
	}
	// The decompressor may not have read the encrypted stream to its end.
	if _, err := io.Copy(io.Discard, stored); err != nil {
		return corruptOr(m.ID, err)
	}
	return nil
}

// corruptOr marks err as corruption unless it already is, or is a
// cancellation.
func corruptOr(id string, err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &CorruptError{ID: id, Reason: err.Error()}
}

// decodeErrReader turns a failure to decrypt or decompress into a
// *CorruptError, so that it stays recognisable after a driver wraps it.
type decodeErrReader struct {
	r  io.Reader
	id string
}

func (d decodeErrReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = corruptOr(d.id, err)
	}
	return n, err
}
