package backup

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Record types, the "type" of the signed envelope.
const (
	// ManifestType is the manifest Create writes: v1 plus the repository
	// id and the source's identity, under the signature.
	ManifestType = "keel.backup.manifest/v2"
	// LegacyManifestType is the manifest of backups made before
	// repository identities; it is still read (see ErrLegacy).
	LegacyManifestType = "keel.backup.manifest/v1"
	VerificationType   = "keel.backup.verification/v1"
)

// StatusComplete is the only status a stored manifest has: a manifest is
// written after its object is durable, so an interrupted backup leaves
// none.
const StatusComplete = "complete"

// Manifest describes one backup. It is stored, signed, next to the
// backup's object; docs/FORMATS.md specifies the format.
type Manifest struct {
	ID           string            `json:"id"`
	Driver       string            `json:"driver"`
	Source       string            `json:"source"`
	Object       string            `json:"object"`
	StartedAt    time.Time         `json:"started_at"`
	FinishedAt   time.Time         `json:"finished_at"`
	RawSize      int64             `json:"raw_size"`
	StoredSize   int64             `json:"stored_size"`
	RawSHA256    string            `json:"raw_sha256"`
	StoredSHA256 string            `json:"stored_sha256"`
	Compression  Compression       `json:"compression"`
	Encryption   Encryption        `json:"encryption"`
	Tools        map[string]string `json:"tools,omitempty"`
	Status       string            `json:"status"`
	// Repository is the id of the repository the backup was made in
	// (RepositoryIdentity); empty in a legacy (v1) manifest.
	Repository string `json:"repository,omitempty"`
	// SourceIdentity says which database the backup is of; nil in a
	// legacy (v1) manifest, whose Source is compared instead.
	SourceIdentity *SourceIdentity `json:"source_identity,omitempty"`
}

// Legacy reports whether the manifest predates repository identities
// (keel.backup.manifest/v1): it names neither its repository nor its
// source's identity.
func (m *Manifest) Legacy() bool { return m.Repository == "" }

// Encryption records how the object was encrypted. Recipients are age
// public keys (never secrets).
type Encryption struct {
	// Scheme is "age-x25519", "age-scrypt" (passphrase), "age" (other
	// recipient types) or "none".
	Scheme     string   `json:"scheme"`
	Recipients []string `json:"recipients,omitempty"`
}

// Verification is the signed record of a successful verify.
type Verification struct {
	ID           string    `json:"id"`
	Level        Level     `json:"level"`
	VerifiedAt   time.Time `json:"verified_at"`
	StoredSHA256 string    `json:"stored_sha256"`
	// Detail is the sanity query's answer for a trial restore, if any.
	Detail string `json:"detail,omitempty"`
	// Recorded says the record is stored beside the backup (List shows
	// it, Prune counts it). Verify without a SigningKey records nothing:
	// its result is returned with Recorded false. Not part of the record.
	Recorded bool `json:"-"`
}

var (
	idPattern  = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$`)
	hexSHA256  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	driverName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
)

// newID returns a sortable, unique backup id: UTC time and 32 random bits.
func newID(t time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("backup: crypto/rand: %w", err)
	}
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

// ValidID reports whether id has the form of a backup id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Object names in storage.
func objectName(id string) string       { return id + ".backup" }
func manifestName(id string) string     { return id + ".manifest.json" }
func verificationName(id string) string { return id + ".verified.json" }

// EncodeManifest signs m with key: as ManifestType, or as
// LegacyManifestType when m has no Repository (which only tests of
// legacy handling want).
func EncodeManifest(m *Manifest, key *SigningKey) ([]byte, error) {
	typ := ManifestType
	if m.Legacy() {
		typ = LegacyManifestType
	}
	if err := m.validate(typ); err != nil {
		return nil, err
	}
	return seal(typ, m, key)
}

// DecodeManifest checks data's signature against keys and decodes the
// manifest, of either type. Errors match ErrMalformed (with a
// *MalformedError naming the field) or ErrSignature.
func DecodeManifest(data []byte, keys ...ed25519.PublicKey) (*Manifest, error) {
	typ, payload, err := openAny(data, []string{ManifestType, LegacyManifestType}, keys, maxRecordSize)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := decodeStrict(payload, &m); err != nil {
		return nil, err
	}
	if err := m.validate(typ); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeStrict(payload []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &MalformedError{Field: "payload", Reason: err.Error()}
	}
	if dec.More() {
		return &MalformedError{Field: "payload", Reason: "trailing data"}
	}
	return nil
}

// validate checks m as a manifest of type typ: v2 requires the repository
// and the source identity, v1 has neither.
func (m *Manifest) validate(typ string) error {
	if typ == ManifestType {
		switch {
		case !repositoryIDPattern.MatchString(m.Repository):
			return &MalformedError{Field: "repository", Reason: fmt.Sprintf("%q is not a repository id", m.Repository)}
		case m.SourceIdentity == nil:
			return &MalformedError{Field: "source_identity", Reason: "is required in " + ManifestType}
		}
		if err := m.SourceIdentity.validate(); err != nil {
			return err
		}
		if m.SourceIdentity.Driver != m.Driver {
			return &MalformedError{Field: "source_identity.driver", Reason: fmt.Sprintf("%q differs from the manifest's driver %q", m.SourceIdentity.Driver, m.Driver)}
		}
	} else if m.Repository != "" || m.SourceIdentity != nil {
		return &MalformedError{Field: "repository", Reason: "not allowed in " + LegacyManifestType}
	}
	bad := func(field, reason string) error { return &MalformedError{Field: field, Reason: reason} }
	switch {
	case !ValidID(m.ID):
		return bad("id", fmt.Sprintf("%q is not a backup id", m.ID))
	case !driverName.MatchString(m.Driver):
		return bad("driver", fmt.Sprintf("%q is not a driver name", m.Driver))
	case m.Object != objectName(m.ID):
		return bad("object", fmt.Sprintf("want %q, got %q", objectName(m.ID), m.Object))
	case m.StartedAt.IsZero() || m.FinishedAt.Before(m.StartedAt):
		return bad("finished_at", "must not be before started_at")
	case m.RawSize < 0 || m.StoredSize < 0:
		return bad("raw_size", "sizes must not be negative")
	case !hexSHA256.MatchString(m.RawSHA256):
		return bad("raw_sha256", "must be 64 lowercase hex digits")
	case !hexSHA256.MatchString(m.StoredSHA256):
		return bad("stored_sha256", "must be 64 lowercase hex digits")
	case m.Status != StatusComplete:
		return bad("status", fmt.Sprintf("want %q, got %q", StatusComplete, m.Status))
	}
	if _, err := ParseCompression(string(m.Compression)); err != nil || m.Compression == "" {
		return bad("compression", fmt.Sprintf("unknown compression %q", m.Compression))
	}
	switch m.Encryption.Scheme {
	case "none", "age-scrypt":
		if len(m.Encryption.Recipients) != 0 {
			return bad("encryption.recipients", "must be empty for scheme "+m.Encryption.Scheme)
		}
	case "age-x25519", "age":
		if len(m.Encryption.Recipients) == 0 {
			return bad("encryption.recipients", "must list at least one recipient")
		}
	default:
		return bad("encryption.scheme", fmt.Sprintf("unknown scheme %q", m.Encryption.Scheme))
	}
	return nil
}

// decodeVerification checks and decodes a verification record.
func decodeVerification(data []byte, keys []ed25519.PublicKey) (*Verification, error) {
	payload, err := open(data, VerificationType, keys)
	if err != nil {
		return nil, err
	}
	var v Verification
	if err := decodeStrict(payload, &v); err != nil {
		return nil, err
	}
	if !ValidID(v.ID) {
		return nil, &MalformedError{Field: "id", Reason: fmt.Sprintf("%q is not a backup id", v.ID)}
	}
	if !hexSHA256.MatchString(v.StoredSHA256) {
		return nil, &MalformedError{Field: "stored_sha256", Reason: "must be 64 lowercase hex digits"}
	}
	if v.Level < VerifyChecksum || v.Level > VerifyRestore {
		return nil, &MalformedError{Field: "level", Reason: "unknown verify level"}
	}
	return &v, nil
}
