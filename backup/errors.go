package backup

import (
	"errors"
	"fmt"
	"strings"
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
	// ErrOtherSource: a backup is of another database than the restore
	// target (RestoreOptions.AllowOtherSource allows it).
	ErrOtherSource = errors.New("backup: backup is of another source")
	// ErrOtherRepository: a backup was made in another repository, or names
	// one while this repository has no identity
	// (RestoreOptions.AllowOtherRepository allows it).
	ErrOtherRepository = errors.New("backup: backup belongs to another repository")
	// ErrLegacy: a backup's manifest predates repository identities and the
	// repository's index does not vouch for it (RestoreOptions.AllowLegacy
	// allows it; Repository.Init with AdoptLegacy vouches for it).
	ErrLegacy = errors.New("backup: legacy backup not adopted by the repository")
	// ErrMissing: the repository's index lists backups that storage no
	// longer has (deleted, or storage rolled back).
	ErrMissing = errors.New("backup: backup listed in the index is missing")
	// ErrIndex: the repository's identity or index is missing, not trusted,
	// inconsistent, or older than a witness has seen.
	ErrIndex = errors.New("backup: repository identity or index problem")
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

// RefusedError says why a restore was refused and which RestoreOptions
// field would allow it. It matches the sentinel of its kind
// (ErrOtherSource, ErrOtherRepository, ErrLegacy, ErrTargetNotEmpty).
type RefusedError struct {
	ID string
	// Reason says what is wrong, without the remedy.
	Reason string
	// Option is the RestoreOptions field that allows the restore anyway:
	// "AllowOtherSource", "AllowOtherRepository", "AllowLegacy" or "Force".
	// A command-line tool names its own flag instead.
	Option string
	kind   error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("backup: restore of %s refused: %s (set RestoreOptions.%s to restore it anyway)", e.ID, e.Reason, e.Option)
}

// Is makes errors.Is match the error's kind.
func (e *RefusedError) Is(target error) bool { return target == e.kind }

// MissingError names the backups that the index lists and storage lacks.
// It matches ErrMissing.
type MissingError struct {
	IDs []string
}

func (e *MissingError) Error() string {
	return "backup: listed in the repository's index but missing from storage (deleted, or storage rolled back): " + strings.Join(e.IDs, ", ")
}

// Is makes errors.Is(err, ErrMissing) true.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// IndexError says what is wrong with the repository's identity or index,
// and what repairs it. It matches ErrIndex.
type IndexError struct {
	// Reason says what is wrong, without the remedy.
	Reason string
	// Remedy is what repairs it, if anything does; a command-line tool
	// names its own command instead of the Go API.
	Remedy Remedy
	// RepositoryID is the id for RemedyRepositoryID.
	RepositoryID string
}

// Remedy names the repair of an IndexError.
type Remedy int

// Remedies of an IndexError.
const (
	RemedyNone         Remedy = iota
	RemedyInit                // Repository.Init makes the identity and the index
	RemedyRebuildIndex        // Init with InitOptions.RebuildIndex writes a new index, accepting what the old one listed may be lost
	RemedyRepositoryID        // Init with Config.RepositoryID set to IndexError.RepositoryID recreates the identity object
	RemedyChooseBackup        // name the backup by its id instead of "latest"
	RemedyPrune               // Prune removes old backups
)

func (e *IndexError) Error() string {
	s := "backup: repository index: " + e.Reason
	switch e.Remedy {
	case RemedyInit:
		s += " (Repository.Init makes them)"
	case RemedyRebuildIndex:
		s += " (Init with InitOptions.RebuildIndex writes a new index, accepting that what the old one listed may be lost)"
	case RemedyRepositoryID:
		s += " (Init with Config.RepositoryID " + e.RepositoryID + " recreates the identity object)"
	case RemedyChooseBackup:
		s += " (name a backup by its id to use it anyway)"
	case RemedyPrune:
		s += " (Prune removes old backups)"
	}
	return s
}

// Is makes errors.Is(err, ErrIndex) true.
func (e *IndexError) Is(target error) bool { return target == ErrIndex }
