package idempotency

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Defaults for Config.
const (
	// DefaultLease is well above a typical request timeout (30 s), so a slow
	// but live request keeps its key, and short enough that a crashed one
	// frees it within minutes.
	DefaultLease = 2 * time.Minute
	// DefaultTTL matches Stripe's documented retention of 24 hours.
	DefaultTTL = 24 * time.Hour
)

// Config configures a Manager. The zero value of every field but Store is a
// documented default.
type Config struct {
	// Store keeps the records. Required.
	Store Store
	// Lease is how long a key stays reserved for the request that took it
	// before another may take over (a crashed request frees its key after
	// this long). Default DefaultLease. Must be shorter than TTL and should be
	// well above the longest request timeout: a request still running when
	// its lease ends loses the key, and its Complete fails with ErrLeaseLost.
	Lease time.Duration
	// TTL is how long a record is kept (and replayed), counted from the
	// reservation. Default DefaultTTL.
	TTL time.Duration
	// MeterProvider records the metrics listed in docs/METRICS.md. Nil means
	// the otel global provider.
	MeterProvider metric.MeterProvider
	// TracerProvider records one span per store operation. Nil means the otel
	// global provider.
	TracerProvider trace.TracerProvider
	// Logger receives store failures and lost leases. Nil means no logs.
	Logger *slog.Logger
}

// Manager is the idempotency state machine: Begin answers proceed, replay,
// in progress or mismatch; Complete and Release end a proceed. It holds no
// state of its own beyond the store and is safe for concurrent use.
type Manager struct {
	store  Store
	lease  time.Duration
	ttl    time.Duration
	logger *slog.Logger
	tel    *telemetry
}

// New validates cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("idempotency: Config.Store is required")
	}
	if cfg.Lease < 0 {
		return nil, fmt.Errorf("idempotency: Config.Lease must be positive, got %s", cfg.Lease)
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("idempotency: Config.TTL must be positive, got %s", cfg.TTL)
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Lease < time.Millisecond {
		return nil, fmt.Errorf("idempotency: Config.Lease must be at least 1ms, got %s", cfg.Lease)
	}
	if cfg.TTL <= cfg.Lease {
		return nil, fmt.Errorf("idempotency: Config.TTL (%s) must be longer than Config.Lease (%s)", cfg.TTL, cfg.Lease)
	}
	tel, err := newTelemetry(cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return nil, err
	}
	return &Manager{store: cfg.Store, lease: cfg.Lease, ttl: cfg.TTL, logger: orDiscard(cfg.Logger), tel: tel}, nil
}

// Begun is the result of a successful Begin: either the caller holds the
// key (Replayed false: run the operation, then Complete or Release with
// Lease) or the operation ran before (Replayed true: return Outcome).
type Begun struct {
	Replayed bool
	Lease    Lease
	Outcome  Outcome
}

// Begin reserves key within scope for a request whose content is identified
// by fingerprint. Errors: *InProgressError (errors.Is ErrInProgress) while
// another holder's lease is live; ErrMismatch when the key was used with
// another fingerprint; ErrInvalidKey for an empty or oversized key, scope or
// fingerprint, a key outside printable ASCII (0x20–0x7E, what the header
// allows) or a scope that is not UTF-8 or holds a NUL; ErrStore when the
// store failed.
func (m *Manager) Begin(ctx context.Context, scope, key string, fingerprint []byte) (Begun, error) {
	if m == nil {
		return Begun{}, errNilManager
	}
	if err := validate(scope, key, fingerprint); err != nil {
		m.tel.begin(ctx, resultInvalid)
		return Begun{}, err
	}
	req := ReserveRequest{
		Scope:       scope,
		Key:         key,
		Fingerprint: fingerprint,
		Token:       rand.Text(),
		Lease:       m.lease,
		TTL:         m.ttl,
	}
	ctx, span := m.tel.start(ctx, "idempotency.Reserve")
	start := time.Now()
	res, err := m.store.Reserve(ctx, req)
	m.tel.storeDone(ctx, opReserve, start, err)
	endSpan(span, err)
	if err != nil {
		m.tel.begin(ctx, resultError)
		m.log(ctx, "idempotency: reserve failed", err)
		return Begun{}, storeError("reserve", err)
	}
	switch res.Decision {
	case Proceed:
		m.tel.begin(ctx, resultProceed)
		return Begun{Lease: Lease{Scope: scope, Key: key, Token: req.Token}}, nil
	case Replay:
		m.tel.begin(ctx, resultReplay)
		return Begun{Replayed: true, Outcome: res.Outcome}, nil
	case InProgress:
		m.tel.begin(ctx, resultConflict)
		return Begun{}, &InProgressError{RetryAfter: res.RetryAfter}
	case Mismatch:
		m.tel.begin(ctx, resultMismatch)
		return Begun{}, ErrMismatch
	default:
		m.tel.begin(ctx, resultError)
		return Begun{}, storeError("reserve", fmt.Errorf("store returned unknown decision %d", res.Decision))
	}
}

// Complete stores outcome as the result of the operation begun with lease.
// It returns ErrLeaseLost (wrapped) when the lease expired first: the result
// is then not stored, and the caller should treat its own side effect as
// possibly duplicated — or, better, complete inside its own transaction
// (see the sqlstore package's CompleteTx) so that it is rolled back.
func (m *Manager) Complete(ctx context.Context, lease Lease, outcome Outcome) error {
	if m == nil {
		return errNilManager
	}
	ctx, span := m.tel.start(ctx, "idempotency.Complete")
	start := time.Now()
	err := m.store.Complete(ctx, lease, outcome)
	m.tel.storeDone(ctx, opComplete, start, err)
	endSpan(span, err)
	return m.ended(ctx, "complete", endCompleted, err)
}

// Release deletes the pending record of lease so that a retry runs the
// operation again. Use it when the outcome must not be stored (the
// operation failed in a way worth retrying and had no side effect).
func (m *Manager) Release(ctx context.Context, lease Lease) error {
	if m == nil {
		return errNilManager
	}
	ctx, span := m.tel.start(ctx, "idempotency.Release")
	start := time.Now()
	err := m.store.Release(ctx, lease)
	m.tel.storeDone(ctx, opRelease, start, err)
	endSpan(span, err)
	return m.ended(ctx, "release", endReleased, err)
}

func (m *Manager) ended(ctx context.Context, op string, ok endKind, err error) error {
	switch {
	case err == nil:
		m.tel.end(ctx, ok)
		return nil
	case errors.Is(err, ErrLeaseLost):
		m.tel.end(ctx, endLeaseLost)
		m.log(ctx, "idempotency: "+op+" after the lease was lost", err)
		return err
	default:
		m.tel.end(ctx, endError)
		m.log(ctx, "idempotency: "+op+" failed", err)
		return storeError(op, err)
	}
}

func (m *Manager) log(ctx context.Context, msg string, err error) {
	if m.logger.Enabled(ctx, slog.LevelWarn) { // the attribute costs an error string
		m.logger.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("error", err.Error()))
	}
}

// validate checks what every store must accept.
func validate(scope, key string, fingerprint []byte) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	case len(key) > MaxKeyLength:
		return fmt.Errorf("%w: key is %d bytes, more than %d", ErrInvalidKey, len(key), MaxKeyLength)
	case len(scope) > MaxScopeLength:
		return fmt.Errorf("%w: scope is %d bytes, more than %d", ErrInvalidKey, len(scope), MaxScopeLength)
	case len(fingerprint) > MaxFingerprintLength:
		return fmt.Errorf("%w: fingerprint is %d bytes, more than %d", ErrInvalidKey, len(fingerprint), MaxFingerprintLength)
	case !utf8.ValidString(scope) || strings.IndexByte(scope, 0) >= 0:
		return fmt.Errorf("%w: scope is not valid UTF-8 or holds a NUL byte", ErrInvalidKey)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: key has a byte 0x%02x outside printable ASCII at offset %d", ErrInvalidKey, c, i)
		}
	}
	return nil
}

// orDiscard is the Logger a nil Config.Logger stands for: one that discards,
// set once here so that no call site tests for nil (docs/CONVENTIONS.md).
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
