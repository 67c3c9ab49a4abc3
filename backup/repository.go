package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"filippo.io/age"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a Repository. The zero value of each field is its
// documented default; New rejects the rest with an error naming the field.
type Config struct {
	// Storage holds the backups. Required.
	Storage Storage
	// Source is what Create dumps. Optional: a repository used only to
	// list, verify, restore or prune needs none.
	Source Source
	// Compression of new backups. Default Zstd.
	Compression Compression
	// Recipients encrypt new backups (age X25519 public keys, or one
	// age.ScryptRecipient for a passphrase). Required for Create unless
	// Unencrypted is set.
	Recipients []age.Recipient
	// Unencrypted must be set to create backups without encryption.
	Unencrypted bool
	// Identities decrypt backups for verify (full, restore) and restore:
	// age X25519 identities or an age.ScryptIdentity.
	Identities []age.Identity
	// SigningKey signs manifests and verification records. Required for
	// Create; without it Verify records nothing.
	SigningKey *SigningKey
	// VerifyKeys are trusted manifest signers. Default: SigningKey's
	// public key. At least one of the two is required.
	VerifyKeys []ed25519.PublicKey

	// RepositoryID, if set, is the id the repository must have (see
	// RepositoryIdentity): a repository replaced by another, or whose
	// identity object was removed, is then an *IndexError. Init uses it to
	// recreate a lost identity object with its old id.
	RepositoryID string
	// Witness, if set, remembers the newest index this client has seen,
	// so that an index rolled back to an older signed version (with the
	// newer backups removed) is reported. Without a witness that rollback
	// cannot be detected: see IndexWitness.
	Witness IndexWitness
	// Lock, if set, serialises updates of the repository's index between
	// processes. Default: the Storage itself, if it implements Locker
	// (backup/local does, with a file lock in its directory). Writers on
	// several hosts sharing an S3 bucket need a Lock they share, or one
	// writer. It must not be the Scheduler's Lock, which is held around
	// whole runs.
	Lock Locker

	// Logger receives one line per operation; nil means no logs.
	Logger *slog.Logger
	// MeterProvider and TracerProvider default to the otel globals.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Repository creates, lists, verifies, restores and prunes backups in one
// Storage. It is safe for concurrent use.
type Repository struct {
	cfg    Config
	keys   []ed25519.PublicKey
	log    *slog.Logger
	inst   *instruments
	tracer trace.Tracer

	indexMu sync.Mutex // serialises this process's index updates (Lock serialises processes)
	pinMu   sync.Mutex
	pinned  string // the first repository id seen; a later other one is an error
}

// New validates cfg and returns a Repository. Close releases its metric
// callback.
func New(cfg Config) (*Repository, error) {
	if cfg.Storage == nil {
		return nil, errors.New("backup: Config.Storage is required")
	}
	comp, err := ParseCompression(string(cfg.Compression))
	if err != nil {
		return nil, fmt.Errorf("backup: Config.Compression: %w", err)
	}
	cfg.Compression = comp
	if cfg.Unencrypted && len(cfg.Recipients) > 0 {
		return nil, errors.New("backup: Config.Unencrypted and Config.Recipients are mutually exclusive")
	}
	for i, r := range cfg.Recipients {
		if r == nil {
			return nil, fmt.Errorf("backup: Config.Recipients[%d] is nil", i)
		}
	}
	if cfg.Source != nil && len(cfg.Recipients) == 0 && !cfg.Unencrypted {
		return nil, errors.New("backup: Config.Recipients is empty: set it, or set Config.Unencrypted to store plain backups")
	}
	if cfg.Source != nil && cfg.SigningKey == nil {
		return nil, errors.New("backup: Config.SigningKey is required to create backups")
	}
	keys := slices.Clone(cfg.VerifyKeys)
	if cfg.SigningKey != nil {
		keys = append(keys, cfg.SigningKey.Public())
	}
	if len(keys) == 0 {
		return nil, errors.New("backup: Config.VerifyKeys is empty and there is no Config.SigningKey")
	}
	for i, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("backup: Config.VerifyKeys[%d] must be %d bytes, got %d", i, ed25519.PublicKeySize, len(k))
		}
	}
	if cfg.RepositoryID != "" && !ValidRepositoryID(cfg.RepositoryID) {
		return nil, fmt.Errorf("backup: Config.RepositoryID %q is not a repository id (32 lowercase hex digits)", cfg.RepositoryID)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inst, err := newInstruments(cfg.MeterProvider)
	if err != nil {
		return nil, err
	}
	return &Repository{cfg: cfg, keys: keys, log: log, inst: inst, tracer: newTracer(cfg.TracerProvider)}, nil
}

// Close unregisters the repository's metric callback.
func (r *Repository) Close() error { return r.inst.close() }

func encryptionOf(recipients []age.Recipient) Encryption {
	if len(recipients) == 0 {
		return Encryption{Scheme: "none"}
	}
	e := Encryption{Scheme: "age-x25519"}
	for _, rc := range recipients {
		switch v := rc.(type) {
		case *age.X25519Recipient:
			e.Recipients = append(e.Recipients, v.String())
		case *age.ScryptRecipient:
			return Encryption{Scheme: "age-scrypt"}
		default:
			e.Scheme = "age"
			if s, ok := rc.(fmt.Stringer); ok {
				e.Recipients = append(e.Recipients, s.String())
			} else {
				e.Recipients = append(e.Recipients, fmt.Sprintf("%T", rc))
			}
		}
	}
	return e
}

// Create dumps the Source through compression and encryption into
// Storage, streaming: memory stays bounded whatever the size and nothing
// is written to a temporary file. The signed manifest, which names the
// repository and the source's identity, is stored after the object, so a
// failed or interrupted backup leaves no manifest, and its object is
// removed; then the backup is added to the repository's index. It returns
// the manifest of the new backup.
//
// A repository without an identity gets one (with an empty index) on its
// first Create, unless backups in storage already name a repository: then
// the identity object was removed, and Create fails with an *IndexError
// rather than start a new repository over the old one's backups. If the
// backup is stored but the index cannot be updated, Create returns the
// manifest and an error matching ErrIndex; the next update of the index
// adds the backup.
func (r *Repository) Create(ctx context.Context) (m *Manifest, err error) {
	src := r.cfg.Source
	if src == nil {
		return nil, ErrNoSource
	}
	start := time.Now()
	ctx, span := r.tracer.Start(ctx, "backup.create")
	defer func() { endSpan(span, err) }()
	defer func() {
		var raw, stored int64
		if m != nil {
			raw, stored = m.RawSize, m.StoredSize
		}
		r.inst.recordCreate(ctx, src.Driver(), start, raw, stored, err)
	}()

	ident, err := r.prepare(ctx)
	if err != nil {
		return nil, err
	}
	id, err := newID(start)
	if err != nil {
		return nil, err
	}
	man, err := r.stream(ctx, src, id)
	if err != nil {
		r.log.ErrorContext(ctx, "backup failed", "id", id, "driver", src.Driver(), "source", src.Name(), "error", err)
		return nil, err
	}
	man.StartedAt = start.UTC()
	man.FinishedAt = time.Now().UTC()
	man.Repository = ident.ID
	srcID := IdentityOf(src)
	man.SourceIdentity = &srcID
	data, err := EncodeManifest(man, r.cfg.SigningKey)
	if err == nil {
		err = r.cfg.Storage.Put(ctx, manifestName(id), bytes.NewReader(data))
	}
	if err != nil {
		_ = r.cfg.Storage.Delete(context.WithoutCancel(ctx), objectName(id))
		return nil, fmt.Errorf("backup: store manifest %s: %w", id, err)
	}
	if _, err := r.updateIndex(ctx, func(u *indexUpdate) error {
		u.add(man, false)
		return nil
	}); err != nil {
		r.log.ErrorContext(ctx, "backup stored but not indexed", "id", id, "error", err)
		return man, fmt.Errorf("%w: backup %s is stored, but the index was not updated (the next update adds it): %w", ErrIndex, id, err)
	}
	r.log.InfoContext(ctx, "backup created", "id", id, "driver", src.Driver(), "source", src.Name(),
		"repository", ident.ID, "raw_bytes", man.RawSize, "stored_bytes", man.StoredSize, "duration", time.Since(start))
	return man, nil
}

// stream runs Dump → hash → compress → encrypt → hash → Storage.Put, with
// Put reading the other end of a pipe.
func (r *Repository) stream(ctx context.Context, src Source, id string) (*Manifest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	putDone := make(chan error, 1)
	go func() {
		err := r.cfg.Storage.Put(ctx, objectName(id), pr)
		// Unblock the writer if Put stopped reading early.
		_ = pr.CloseWithError(cmpErr(err, errors.New("backup: storage stopped reading")))
		putDone <- err
	}()

	stored := newCountingHash()
	seal, err := newSealer(io.MultiWriter(pw, stored), r.cfg.Compression, r.cfg.Recipients)
	if err != nil {
		_ = pw.CloseWithError(err)
		<-putDone
		return nil, err
	}
	raw := newCountingHash()
	ahead := newAheadWriter(seal, raw)
	tools, dumpErr := src.Dump(ctx, ahead)
	aheadErr := ahead.Close() // always: it stops the goroutine
	switch {
	case dumpErr != nil:
		seal.abort()
		dumpErr = fmt.Errorf("backup: dump %s: %w", src.Name(), dumpErr)
	case aheadErr != nil:
		seal.abort()
		dumpErr = fmt.Errorf("backup: dump %s: %w", src.Name(), aheadErr)
	default:
		if cerr := seal.Close(); cerr != nil {
			dumpErr = fmt.Errorf("backup: finish stream: %w", cerr)
		}
	}
	if dumpErr != nil {
		_ = pw.CloseWithError(dumpErr)
		cancel()
		putErr := <-putDone
		// A storage failure is usually why the dump's writes failed.
		if putErr != nil && !errors.Is(putErr, dumpErr) {
			dumpErr = fmt.Errorf("%w (storage: %v)", dumpErr, putErr)
		}
		_ = r.cfg.Storage.Delete(context.WithoutCancel(ctx), objectName(id))
		return nil, dumpErr
	}
	_ = pw.Close()
	if err := <-putDone; err != nil {
		_ = r.cfg.Storage.Delete(context.WithoutCancel(ctx), objectName(id))
		return nil, fmt.Errorf("backup: store %s: %w", objectName(id), err)
	}
	return &Manifest{
		ID:           id,
		Driver:       src.Driver(),
		Source:       src.Name(),
		Object:       objectName(id),
		RawSize:      raw.n,
		StoredSize:   stored.n,
		RawSHA256:    raw.sum(),
		StoredSHA256: stored.sum(),
		Compression:  r.cfg.Compression,
		Encryption:   encryptionOf(r.cfg.Recipients),
		Tools:        tools,
		Status:       StatusComplete,
	}, nil
}

func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
