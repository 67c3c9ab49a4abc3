package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Head is a checkpoint as a Witness keeps it: which log, how far, and the
// hash of the checkpoint record there.
type Head struct {
	// LogID is the log's id (Record.LogID).
	LogID string `json:"log"`
	// Seq is the checkpoint's sequence number.
	Seq uint64 `json:"seq"`
	// Hash is the checkpoint record's hash (Record.Hash), which covers its
	// signature.
	Hash string `json:"hash"`
	// Time is the checkpoint's time; informational (Equal ignores it).
	Time time.Time `json:"time"`
}

// IsZero reports whether h is the zero Head: nothing witnessed yet.
func (h Head) IsZero() bool { return h.LogID == "" && h.Seq == 0 && h.Hash == "" }

// Equal reports whether h and o name the same checkpoint: the same log,
// seq and hash.
func (h Head) Equal(o Head) bool { return h.LogID == o.LogID && h.Seq == o.Seq && h.Hash == o.Hash }

func (h Head) String() string {
	if h.IsZero() {
		return "no head"
	}
	return fmt.Sprintf("log %s seq %d (hash %s)", h.LogID, h.Seq, h.Hash)
}

// valid reports whether h is well formed; a witness's stored head is
// untrusted input.
func (h Head) valid() error {
	switch {
	case !isLowerHex(h.LogID, 32):
		return errors.New("log id must be 32 lowercase hex digits")
	case h.Seq == 0:
		return errors.New("seq must be at least 1")
	case !isLowerHex(h.Hash, 64):
		return errors.New("hash must be 64 lowercase hex digits")
	}
	return nil
}

// A Witness keeps, outside the log, the newest checkpoint its writer wrote,
// so that a log cut back to an earlier checkpoint — which nothing inside
// the remaining records can reveal — is detected: Verify fails when the log
// ends before the witnessed head or holds another record there, and New
// refuses to continue such a log. A witness proves something only where
// whoever can rewrite the log cannot rewrite the witness: keep it on
// another volume (FileWitness), in another database (audit/sqlsink's
// Witness), or behind another account.
//
// One Witness keeps the head of one log. The Logger publishes every
// checkpoint it writes, after the checkpoint is durable in the log, so the
// witness may lag the log (after a crash, or while the witness is
// unreachable) but is never ahead of it.
type Witness interface {
	// Head returns the head last published, or the zero Head when none was.
	Head(ctx context.Context) (Head, error)
	// Publish replaces the head with next if the witness still holds prev
	// (the zero Head: none), durably, and otherwise fails with an error
	// wrapping ErrWitnessConflict. The compare-and-swap catches two writers
	// given the same witness.
	Publish(ctx context.Context, prev, next Head) error
}

// ErrWitnessConflict is wrapped by Witness.Publish when the witness no
// longer holds the head the publisher expected: another writer publishes to
// it, or it was edited.
var ErrWitnessConflict = errors.New("audit: witness holds another head")

// ErrRollback is wrapped when a log is behind its witness: it ends before
// the witnessed checkpoint, holds another record there, or is another log
// altogether. New returns it in a *RollbackError; Verify in a *VerifyError.
var ErrRollback = errors.New("audit: log rolled back behind its witness")

// RollbackError is New's refusal to continue a log that is behind its
// witness. The operator who has investigated and accepts the loss sets
// Config.AcceptRollback to the witnessed log id and seq it names; the
// Logger then records the acceptance in the log (a rollback record, signed
// by a checkpoint) and moves the witness to the new head.
type RollbackError struct {
	// Sink is the index in Config.Sinks.
	Sink int
	// Witnessed is the head the witness holds.
	Witnessed Head
	// LogID and LastSeq describe the log as found: its id (a fresh one when
	// the sink was empty) and its last sequence number (0: empty).
	LogID   string
	LastSeq uint64
	// Reason says what does not match, in words.
	Reason string
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("audit: Config.Sinks[%d] is behind its witness: %s; if this loss is accepted, set Config.AcceptRollback to log %s seq %d hash %s",
		e.Sink, e.Reason, e.Witnessed.LogID, e.Witnessed.Seq, e.Witnessed.Hash)
}

func (e *RollbackError) Unwrap() error { return ErrRollback }

// AcceptRollback is an operator's acceptance of one rollback, named exactly
// as the RollbackError named it — log id, seq and hash — so that it cannot
// accept a later one by accident (after an accepted rollback the same log
// passes through the same seq again, with another hash).
type AcceptRollback struct {
	// LogID, WitnessedSeq and WitnessedHash are the witnessed head's.
	LogID         string
	WitnessedSeq  uint64
	WitnessedHash string
	// Reason is recorded in the rollback record: who accepted the loss and
	// why (a ticket, a restore from backup). Required.
	Reason string
}

// rollbackCheck compares what a sink holds with its witness's head and says
// why the log is behind it ("" when it is not). lastSeq, lastHash and logID
// describe the log's last record; at returns the hash of an earlier record,
// for a witness that lags the log, or the first seq the log holds when
// retention removed that record (the log is then past the witness: not
// comparable, and not behind).
func rollbackCheck(w Head, logID string, lastSeq uint64, lastHash string, at func(seq uint64) (string, uint64, error)) (string, error) {
	switch {
	case w.IsZero():
		return "", nil
	case lastSeq == 0:
		return fmt.Sprintf("the log is empty, but its witness holds log %s up to seq %d: the log was deleted or replaced", w.LogID, w.Seq), nil
	case logID != w.LogID:
		return fmt.Sprintf("the log is log %s, but its witness holds log %s up to seq %d: the log was replaced", logID, w.LogID, w.Seq), nil
	case lastSeq < w.Seq:
		return fmt.Sprintf("the log ends at seq %d, before the witnessed checkpoint at seq %d: records %d..%d are missing", lastSeq, w.Seq, lastSeq+1, w.Seq), nil
	case lastSeq == w.Seq:
		if lastHash != w.Hash {
			return fmt.Sprintf("record %d is not the witnessed checkpoint (hash %s, witnessed %s): the log was rewritten from there", w.Seq, lastHash, w.Hash), nil
		}
		return "", nil
	}
	hash, first, err := at(w.Seq)
	if err != nil {
		return "", err
	}
	if first > w.Seq {
		return "", nil
	}
	if hash != w.Hash {
		if hash == "" {
			return fmt.Sprintf("record %d, the witnessed checkpoint, is missing", w.Seq), nil
		}
		return fmt.Sprintf("record %d is not the witnessed checkpoint (hash %s, witnessed %s): the log was rewritten from there", w.Seq, hash, w.Hash), nil
	}
	return "", nil
}
