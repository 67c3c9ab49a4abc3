package idempotency

import (
	"context"
	"net/http"
	"time"
)

// Store keeps idempotency records. Every method must be atomic with respect to
// every other call on the same (scope, key), across all the processes that
// share the store: that atomicity is the whole of the guarantee.
//
// Implementations in this module: [MemoryStore] (one process),
// github.com/keel-go/keel/idempotency/sqlstore (PostgreSQL, MySQL/MariaDB,
// SQLite) and github.com/keel-go/keel/idempotency/redisstore. Any other
// implementation should pass the conformance suite in
// github.com/keel-go/keel/idempotency/idempotencytest.
//
// Time (lease and record expiry) is judged by the store's own clock — the
// database server's or Redis's — never by the caller's, so instances whose
// clocks disagree still agree on who holds a key.
type Store interface {
	// Reserve atomically inserts a pending record for (req.Scope, req.Key)
	// holding req.Token, or takes over a record whose lease or retention has
	// expired, or reports the state of the live record. It returns an error
	// only when the store itself failed.
	Reserve(ctx context.Context, req ReserveRequest) (Reservation, error)
	// Complete stores the outcome and marks the record completed, if and only
	// if the record is still pending, holds lease.Token and its lease has not
	// expired; otherwise it returns ErrLeaseLost and changes nothing.
	Complete(ctx context.Context, lease Lease, outcome Outcome) error
	// Release deletes the pending record, under the same condition as
	// Complete, so that a retry can run again; otherwise ErrLeaseLost.
	Release(ctx context.Context, lease Lease) error
}

// ReserveRequest asks a Store for a key.
type ReserveRequest struct {
	// Scope separates the key spaces of different tenants and operations
	// (for HTTP: principal, method and route). At most MaxScopeLength bytes.
	Scope string
	// Key is the client's idempotency key, 1 to MaxKeyLength bytes.
	Key string
	// Fingerprint identifies the request's content; a later request with the
	// same key and another fingerprint is a Mismatch. At most
	// MaxFingerprintLength bytes.
	Fingerprint []byte
	// Token identifies this holder; Complete and Release must present it.
	Token string
	// Lease is how long the record stays reserved for this holder before
	// another request may take it over. Positive.
	Lease time.Duration
	// TTL is how long the record is kept, counted from this reservation.
	// Greater than Lease.
	TTL time.Duration
}

// Limits on what a Store must accept. The SQL schema sizes its columns by them.
const (
	MaxKeyLength         = 255
	MaxScopeLength       = 512
	MaxFingerprintLength = 64
	MaxTokenLength       = 64
)

// Decision is what a Reserve found.
type Decision uint8

const (
	// Proceed: the caller holds the key and must run the operation, then
	// Complete or Release.
	Proceed Decision = iota + 1
	// Replay: the operation completed before; Reservation.Outcome holds the
	// stored result.
	Replay
	// InProgress: another holder's lease is live; Reservation.RetryAfter says
	// when it ends at the latest.
	InProgress
	// Mismatch: the key was used for a request with another fingerprint.
	Mismatch
)

// String returns the decision's name as used in metrics: "proceed",
// "replay", "in_progress" or "mismatch".
func (d Decision) String() string {
	switch d {
	case Proceed:
		return "proceed"
	case Replay:
		return "replay"
	case InProgress:
		return "in_progress"
	case Mismatch:
		return "mismatch"
	default:
		return "unknown"
	}
}

// Reservation is a Store's answer to Reserve.
type Reservation struct {
	Decision Decision
	// Outcome is the stored result, for Replay.
	Outcome Outcome
	// RetryAfter is the time left on the other holder's lease, for InProgress.
	RetryAfter time.Duration
}

// Lease identifies the holder of a pending record: Complete and Release are
// compare-and-set on Token, so a holder whose lease expired and was taken
// over cannot overwrite the newer holder's result.
type Lease struct {
	Scope string
	Key   string
	Token string
}

// Outcome is the stored result of an operation. For HTTP it is the response:
// status code, the allow-listed headers and the body. Stores keep it as they
// got it and return copies.
type Outcome struct {
	Status int
	Header http.Header
	Body   []byte
	// BodyOmitted records that the body was larger than the configured limit
	// and was not stored; a replay then carries the status and headers only.
	BodyOmitted bool
}

// Clone returns a deep copy of o, so that a store's record and a caller's
// value never share memory.
func (o Outcome) Clone() Outcome {
	c := o
	if o.Header != nil {
		c.Header = o.Header.Clone()
	}
	if o.Body != nil {
		c.Body = append([]byte(nil), o.Body...)
	}
	return c
}
