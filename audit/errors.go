package audit

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrClosed is returned by Log after Close.
	ErrClosed = errors.New("audit: logger closed")
	// ErrQueueFull is returned by Log when the queue is full and
	// Config.OnFull is Fail.
	ErrQueueFull = errors.New("audit: queue full")
	// ErrSink wraps a failure to persist events; with Config.OnFull Fail it is
	// also returned while a sink is failing in buffered mode.
	ErrSink = errors.New("audit: sink failed")
	// ErrInvalidEvent is returned by Log for an event it will not record.
	ErrInvalidEvent = errors.New("audit: invalid event")
	// ErrMalformed is wrapped by DecodeLine for a line that is not a record.
	ErrMalformed = errors.New("audit: malformed record")
	// ErrHashMismatch is wrapped when a record's body does not match its hash.
	ErrHashMismatch = errors.New("audit: record hash mismatch")
	// ErrChainBroken is wrapped when a record does not follow the one before
	// (a deleted, inserted or reordered record).
	ErrChainBroken = errors.New("audit: hash chain broken")
	// ErrBadSignature is wrapped when a checkpoint signature does not verify
	// or names an unknown key.
	ErrBadSignature = errors.New("audit: bad checkpoint signature")
	// ErrTruncated is wrapped when a log does not end with the checkpoint
	// written by Close: records were cut off (or the writer is still running
	// or crashed and was not reopened).
	ErrTruncated = errors.New("audit: log truncated")
)

// VerifyError names the first bad record found by Verify and why.
type VerifyError struct {
	// Seq is the sequence number the bad record has, or should have had.
	Seq uint64
	// Where locates it: "segment audit-….jsonl line 12" or "row seq=12".
	Where string
	// Reason explains the failure in words.
	Reason string
	// Err is one of ErrMalformed, ErrHashMismatch, ErrChainBroken,
	// ErrBadSignature, ErrTruncated.
	Err error
}

func (e *VerifyError) Error() string {
	where := ""
	if e.Where != "" {
		where = " (" + e.Where + ")"
	}
	return fmt.Sprintf("audit: verify: record %d%s: %s", e.Seq, where, e.Reason)
}

func (e *VerifyError) Unwrap() error { return e.Err }
