package backup

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound: the backup or stored object does not exist.
	ErrNotFound = errors.New("backup: not found")
	// ErrCorrupt: a stored object does not match its manifest (checksum or
	// size), is truncated, or cannot be decrypted or decompressed.
	ErrCorrupt = errors.New("backup: corrupt backup")
	// ErrSignature: a manifest or verification record is not signed by a
	// trusted key, or its signature does not match its content.
	ErrSignature = errors.New("backup: signature invalid")
	// ErrMalformed: a manifest or verification record cannot be decoded.
	ErrMalformed = errors.New("backup: malformed record")
	// ErrTargetNotEmpty: a restore target holds data and Force was not set.
	ErrTargetNotEmpty = errors.New("backup: restore target is not empty")
	// ErrDriverMismatch: a backup was made by another driver than the target's.
	ErrDriverMismatch = errors.New("backup: driver mismatch")
	// ErrNoPolicy: a retention policy keeps nothing explicitly, so nothing is pruned.
	ErrNoPolicy = errors.New("backup: retention policy is empty")
	// ErrLocked: another run holds the schedule lock.
	ErrLocked = errors.New("backup: lock held by another run")
	// ErrNoSource: Create was called on a Repository without a Source.
	ErrNoSource = errors.New("backup: no source configured")
	// ErrToolVersion: a dump tool is older than the server it dumps.
	ErrToolVersion = errors.New("backup: dump tool older than server")
)

// MalformedError says which part of a record could not be decoded. It
// matches ErrMalformed.
type MalformedError struct {
	Field  string
	Reason string
}

func (e *MalformedError) Error() string {
	if e.Field == "" {
		return "backup: malformed record: " + e.Reason
	}
	return fmt.Sprintf("backup: malformed record: %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// CorruptError says what did not match. It matches ErrCorrupt.
type CorruptError struct {
	ID     string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("backup: corrupt backup %s: %s", e.ID, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
