package backup

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// RepositoryType is the envelope type of the repository identity object.
const RepositoryType = "keel.backup.repository/v1"

// RepositoryObject is the storage name of the repository identity object.
const RepositoryObject = "keel-repository.json"

var repositoryIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// RepositoryIdentity names a repository. It is created with the
// repository (by its first Create, or by Init), signed, and never
// rewritten; every manifest made in the repository carries its ID under
// the manifest's signature, so a validly signed backup copied in from
// another repository is recognised as foreign (ErrOtherRepository).
type RepositoryIdentity struct {
	// ID is 128 random bits from crypto/rand, in lowercase hex.
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

func newRepositoryIdentity(now time.Time) (*RepositoryIdentity, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("backup: crypto/rand: %w", err)
	}
	return &RepositoryIdentity{ID: hex.EncodeToString(b[:]), CreatedAt: now.UTC()}, nil
}

// EncodeRepositoryIdentity signs ri with key.
func EncodeRepositoryIdentity(ri *RepositoryIdentity, key *SigningKey) ([]byte, error) {
	if err := ri.validate(); err != nil {
		return nil, err
	}
	return seal(RepositoryType, ri, key)
}

// DecodeRepositoryIdentity checks data's signature against keys and
// decodes the identity. Errors match ErrMalformed or ErrSignature.
func DecodeRepositoryIdentity(data []byte, keys ...ed25519.PublicKey) (*RepositoryIdentity, error) {
	payload, err := open(data, RepositoryType, keys)
	if err != nil {
		return nil, err
	}
	var ri RepositoryIdentity
	if err := decodeStrict(payload, &ri); err != nil {
		return nil, err
	}
	if err := ri.validate(); err != nil {
		return nil, err
	}
	return &ri, nil
}

func (ri *RepositoryIdentity) validate() error {
	switch {
	case !repositoryIDPattern.MatchString(ri.ID):
		return &MalformedError{Field: "id", Reason: fmt.Sprintf("%q is not a repository id (32 lowercase hex digits)", ri.ID)}
	case ri.CreatedAt.IsZero():
		return &MalformedError{Field: "created_at", Reason: "is required"}
	}
	return nil
}

// ValidRepositoryID reports whether id has the form of a repository id.
func ValidRepositoryID(id string) bool { return repositoryIDPattern.MatchString(id) }

// loadIdentity reads the repository identity; (nil, nil) when there is
// none. An identity that changes under a running Repository, differs from
// Config.RepositoryID, or disappears after either named one, is an
// *IndexError.
func (r *Repository) loadIdentity(ctx context.Context) (*RepositoryIdentity, error) {
	ri, err := r.readIdentity(ctx)
	if err != nil || ri != nil {
		return ri, err
	}
	if r.cfg.RepositoryID != "" {
		return nil, &IndexError{Reason: fmt.Sprintf("the repository has no identity object (%s), but repository %s is expected: removed?", RepositoryObject, r.cfg.RepositoryID), Remedy: RemedyRepositoryID, RepositoryID: r.cfg.RepositoryID}
	}
	if pinned := r.pinnedID(); pinned != "" {
		return nil, &IndexError{Reason: fmt.Sprintf("the identity object %s of repository %s was removed while this process used it", RepositoryObject, pinned), Remedy: RemedyRepositoryID, RepositoryID: pinned}
	}
	return nil, nil
}

// readIdentity reads and checks the identity object: (nil, nil) when it
// is absent.
func (r *Repository) readIdentity(ctx context.Context) (*RepositoryIdentity, error) {
	data, err := r.readSmall(ctx, RepositoryObject)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ri, err := DecodeRepositoryIdentity(data, r.keys...)
	if err != nil {
		return nil, &IndexError{Reason: fmt.Sprintf("identity object %s: %s", RepositoryObject, strings.TrimPrefix(err.Error(), "backup: "))}
	}
	if r.cfg.RepositoryID != "" && ri.ID != r.cfg.RepositoryID {
		return nil, &IndexError{Reason: fmt.Sprintf("this is repository %s, but repository %s is expected", ri.ID, r.cfg.RepositoryID)}
	}
	if pinned := r.pin(ri.ID); pinned != ri.ID {
		return nil, &IndexError{Reason: fmt.Sprintf("the repository's identity changed from %s to %s while this process used it", pinned, ri.ID)}
	}
	return ri, nil
}

// pin records the first repository id this Repository sees and returns it.
func (r *Repository) pin(id string) string {
	r.pinMu.Lock()
	defer r.pinMu.Unlock()
	if r.pinned == "" {
		r.pinned = id
	}
	return r.pinned
}

func (r *Repository) pinnedID() string {
	r.pinMu.Lock()
	defer r.pinMu.Unlock()
	return r.pinned
}
