package backup

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// IndexType is the envelope type of the repository's index.
const IndexType = "keel.backup.index/v1"

// IndexObject is the storage name of the repository's index.
const IndexObject = "keel-index.json"

// Bounds of an index. An entry takes about 130 bytes; a repository of
// hourly backups kept for seven years stays under MaxIndexEntries. Past
// it, Create fails and asks for Prune.
const (
	MaxIndexEntries = 65536
	MaxIndexSize    = 16 << 20
	// maxSeq keeps sequence numbers exact in every JSON implementation
	// (2^53 - 1), so that an independent verifier reads the same number.
	maxSeq = 1<<53 - 1
)

// Index is the repository's signed list of its backups. Its Seq only
// grows: every write of the index takes the next number, and every backup
// added takes one of its own, so an index older than one a client has
// seen is recognisable (IndexWitness). A backup the index lists but
// storage lacks is reported (ErrMissing), never silently skipped.
type Index struct {
	Repository string       `json:"repository"`
	Seq        uint64       `json:"seq"`
	UpdatedAt  time.Time    `json:"updated_at"`
	Backups    []IndexEntry `json:"backups"`
}

// IndexEntry is one backup in the index, in the order they were added.
type IndexEntry struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
	// StartedAt is the manifest's: a missing backup is still listed in
	// its place.
	StartedAt time.Time `json:"started_at"`
	// StoredSHA256 must equal the manifest's: a manifest replaced by
	// another validly signed one with the same id is detected.
	StoredSHA256 string `json:"stored_sha256"`
	// Legacy marks a backup whose manifest predates repository identities
	// and that Init with AdoptLegacy vouched for.
	Legacy bool `json:"legacy,omitempty"`
}

// EncodeIndex signs idx with key. The payload is compact JSON: an index
// can hold tens of thousands of entries.
func EncodeIndex(idx *Index, key *SigningKey) ([]byte, error) {
	if err := idx.validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("backup: encode %s: %w", IndexType, err)
	}
	out, err := sealCompact(IndexType, payload, key)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxIndexSize {
		return nil, &IndexError{Reason: fmt.Sprintf("the index would exceed %d bytes", MaxIndexSize), Remedy: RemedyPrune}
	}
	return out, nil
}

// DecodeIndex checks data's signature against keys and decodes the index.
// Errors match ErrMalformed (naming the field) or ErrSignature.
func DecodeIndex(data []byte, keys ...ed25519.PublicKey) (*Index, error) {
	_, payload, err := openAny(data, []string{IndexType}, keys, MaxIndexSize)
	if err != nil {
		return nil, err
	}
	var idx Index
	if err := decodeStrict(payload, &idx); err != nil {
		return nil, err
	}
	if err := idx.validate(); err != nil {
		return nil, err
	}
	return &idx, nil
}

func (idx *Index) validate() error {
	bad := func(field, reason string) error { return &MalformedError{Field: field, Reason: reason} }
	switch {
	case !repositoryIDPattern.MatchString(idx.Repository):
		return bad("repository", fmt.Sprintf("%q is not a repository id", idx.Repository))
	case idx.Seq < 1 || idx.Seq > maxSeq:
		return bad("seq", fmt.Sprintf("must be 1 to %d, got %d", uint64(maxSeq), idx.Seq))
	case idx.UpdatedAt.IsZero():
		return bad("updated_at", "is required")
	case len(idx.Backups) > MaxIndexEntries:
		return bad("backups", fmt.Sprintf("more than %d entries", MaxIndexEntries))
	}
	ids := make(map[string]bool, len(idx.Backups))
	var prev uint64
	for i, e := range idx.Backups {
		field := fmt.Sprintf("backups[%d].", i)
		switch {
		case !ValidID(e.ID):
			return bad(field+"id", fmt.Sprintf("%q is not a backup id", e.ID))
		case ids[e.ID]:
			return bad(field+"id", fmt.Sprintf("%s is listed twice", e.ID))
		case e.Seq <= prev || e.Seq > idx.Seq:
			return bad(field+"seq", fmt.Sprintf("must be above the previous entry's (%d) and at most the index's (%d), got %d", prev, idx.Seq, e.Seq))
		case !hexSHA256.MatchString(e.StoredSHA256):
			return bad(field+"stored_sha256", "must be 64 lowercase hex digits")
		case e.StartedAt.IsZero():
			return bad(field+"started_at", "is required")
		}
		ids[e.ID] = true
		prev = e.Seq
	}
	return nil
}

// entry returns the entry for id, or nil.
func (idx *Index) entry(id string) *IndexEntry {
	for i := range idx.Backups {
		if idx.Backups[i].ID == id {
			return &idx.Backups[i]
		}
	}
	return nil
}

// IndexHead identifies one version of a repository's index: what an
// IndexWitness keeps.
type IndexHead struct {
	Repository string `json:"repository"`
	Seq        uint64 `json:"seq"`
	// SHA256 is the hash of the index object's bytes as stored.
	SHA256 string `json:"sha256"`
}

func headOf(idx *Index, data []byte) IndexHead {
	sum := sha256.Sum256(data)
	return IndexHead{Repository: idx.Repository, Seq: idx.Seq, SHA256: hex.EncodeToString(sum[:])}
}
