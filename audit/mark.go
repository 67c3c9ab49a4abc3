package audit

import (
	"encoding/json"
	"fmt"
	"time"
)

// markFormat is the "format" member of a verify-state file.
const markFormat = "keel.audit.verify-state/v1"

// markFile is a verify-state file: a Mark and when it was verified.
type markFile struct {
	Format   string `json:"format"`
	LogID    string `json:"log"`
	FirstSeq uint64 `json:"first_seq"`
	Seq      uint64 `json:"seq"`
	Hash     string `json:"hash"`
	Time     string `json:"time"`
	Counts
	VerifiedAt string `json:"verified_at"`
}

// MarshalMark encodes m, verified at verifiedAt, as a verify-state file
// (docs/FORMATS.md, "Resuming"): what `keel audit verify -state` keeps
// between runs.
func MarshalMark(m Mark, verifiedAt time.Time) ([]byte, error) {
	b, err := json.Marshal(markFile{Format: markFormat, LogID: m.LogID, FirstSeq: m.FirstSeq, Seq: m.Seq, Hash: m.Hash,
		Time: formatTime(m.Time), Counts: m.Counts, VerifiedAt: formatTime(verifiedAt)})
	if err != nil {
		return nil, fmt.Errorf("audit: encode verify state: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseMark decodes a verify-state file strictly: exactly its members, each
// once, spelled exactly, and a mark that can be resumed from.
func ParseMark(data []byte) (Mark, time.Time, error) {
	if len(data) > maxWitnessFile {
		return Mark{}, time.Time{}, fmt.Errorf("%w: a verify-state file is at most %d bytes", ErrMalformed, maxWitnessFile)
	}
	if err := exactMembers(data, "format", "log", "first_seq", "seq", "hash", "time", "records", "events",
		"checkpoints", "gaps", "dropped", "recoveries", "rollbacks", "verified_at"); err != nil {
		return Mark{}, time.Time{}, err
	}
	var f markFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Mark{}, time.Time{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Format != markFormat {
		return Mark{}, time.Time{}, fmt.Errorf("%w: format %q, want %q", ErrMalformed, f.Format, markFormat)
	}
	t, err := time.Parse(time.RFC3339Nano, f.Time)
	if err != nil {
		return Mark{}, time.Time{}, fmt.Errorf("%w: time: %v", ErrMalformed, err)
	}
	at, err := time.Parse(time.RFC3339Nano, f.VerifiedAt)
	if err != nil {
		return Mark{}, time.Time{}, fmt.Errorf("%w: verified_at: %v", ErrMalformed, err)
	}
	m := Mark{LogID: f.LogID, FirstSeq: f.FirstSeq, Seq: f.Seq, Hash: f.Hash, Time: t, Counts: f.Counts}
	if !isLowerHex(m.LogID, 32) || !isLowerHex(m.Hash, 64) || m.Seq == 0 || m.FirstSeq == 0 || m.FirstSeq > m.Seq ||
		m.Records > m.Seq-m.FirstSeq+1 || m.Checkpoints == 0 {
		return Mark{}, time.Time{}, fmt.Errorf("%w: not a mark Verify could have written (log, hash, seqs or counts out of range)", ErrMalformed)
	}
	return m, at, nil
}
