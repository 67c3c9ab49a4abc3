package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Kind says what a record holds.
type Kind string

// The record kinds. Every kind is part of the hash chain.
const (
	// KindEvent holds an audit event.
	KindEvent Kind = "event"
	// KindCheckpoint is an Ed25519 signature over the chain head before it.
	KindCheckpoint Kind = "checkpoint"
	// KindGap says how many events were dropped (queue full with
	// OnFull: Drop, or a sink that missed a batch). It is always followed at
	// once by a checkpoint, which signs it.
	KindGap Kind = "gap"
	// KindRecovery says that bytes of a torn last line were discarded when the
	// log was reopened after a crash. It is followed at once by a checkpoint.
	KindRecovery Kind = "recovery"
	// KindRollback says that the log was found behind its witness (records
	// the witness had seen were missing) and that the operator accepted
	// continuing it (Config.AcceptRollback). It is followed at once by a
	// checkpoint. Version 2 records only.
	KindRollback Kind = "rollback"
)

// formatVersion is the "v" member of every record written. Version 2 signs
// each checkpoint's time (version 1 did not) and adds the rollback kind;
// readers accept both.
const formatVersion = 2

// hashSuffixLen is the length of the `,"hash":"<64 hex>"}` suffix of a line.
const hashSuffixLen = len(`,"hash":"`) + 64 + len(`"}`)

// genesisHash is the "prev" of the first record of a log.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Checkpoint is the signed part of a checkpoint record.
type Checkpoint struct {
	// Reason is why the checkpoint was written: "interval", "count",
	// "rotate" (the first record of every segment after the first), "gap",
	// "recovery", "rollback", or "close" (written by Close).
	Reason string `json:"reason"`
	// KeyID names the Ed25519 key: the first 8 bytes of SHA-256 of the
	// 32-byte public key, in hex.
	KeyID string `json:"key_id"`
	// Sig is the standard base64 Ed25519 signature of the checkpoint message
	// (docs/FORMATS.md).
	Sig string `json:"sig"`
}

// Gap records dropped events.
type Gap struct {
	Dropped uint64 `json:"dropped"`
	Cause   string `json:"cause"` // "queue_full" or "sink_failure"
}

// Recovery records a torn tail discarded on reopen.
type Recovery struct {
	Segment         string `json:"segment"`
	Offset          int64  `json:"offset"`
	DiscardedBytes  int64  `json:"discarded_bytes"`
	DiscardedSHA256 string `json:"discarded_sha256"`
}

// Rollback records a log continued behind its witness.
type Rollback struct {
	// WitnessedLog, WitnessedSeq and WitnessedHash are the head the witness
	// held: the log id, sequence number and hash of its newest checkpoint.
	// When WitnessedLog is this log's id, records LastSeq+1 through
	// WitnessedSeq were lost; otherwise the whole witnessed log was replaced
	// by this one.
	WitnessedLog  string `json:"witnessed_log"`
	WitnessedSeq  uint64 `json:"witnessed_seq"`
	WitnessedHash string `json:"witnessed_hash"`
	// LastSeq is the last record the log held when it was reopened (0:
	// none): records LastSeq+1 through WitnessedSeq of the witnessed log
	// were lost.
	LastSeq uint64 `json:"last_seq"`
	// Reason is the operator's account, from Config.AcceptRollback.
	Reason string `json:"reason"`
}

// Record is one entry of the log as stored: a line of the file sink, a row of
// the SQL sink. Its JSON encoding is its stored line, byte for byte (the
// format of docs/FORMATS.md, whose hash a reader can check); decoding JSON
// into a Record is DecodeLine.
type Record struct {
	// Version is the record's format version ("v"): 1 or 2.
	Version    int
	Seq        uint64
	Kind       Kind
	Time       time.Time
	LogID      string // 32 hex digits, fixed when the log is created
	Prev       string // hash of the record before, 64 hex digits
	Hash       string // SHA-256 of this record's canonical body, 64 hex digits
	Event      *Event // for KindEvent
	Checkpoint *Checkpoint
	Gap        *Gap
	Recovery   *Recovery
	Rollback   *Rollback
	// Line is the exact stored encoding, without the newline.
	Line []byte

	timeText string // "time" exactly as stored: version 2 signatures cover it
}

// wireRecord is a whole record body, for decoding: the chain header, the
// event members (eventWire, embedded so that its members are promoted) and
// the members of the other kinds.
type wireRecord struct {
	V    int    `json:"v"`
	Seq  uint64 `json:"seq"`
	Kind Kind   `json:"kind"`
	Time string `json:"time"`
	Log  string `json:"log"`
	Prev string `json:"prev"`
	eventWire
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	Gap        *Gap        `json:"gap,omitempty"`
	Recovery   *Recovery   `json:"recovery,omitempty"`
	Rollback   *Rollback   `json:"rollback,omitempty"`
}

// canonicalBody returns the bytes a record's hash covers: the line with its
// trailing `,"hash":"…"` member removed.
func canonicalBody(line []byte) ([]byte, string, bool) {
	if len(line) < hashSuffixLen+2 {
		return nil, "", false
	}
	suffix := line[len(line)-hashSuffixLen:]
	if !bytes.HasPrefix(suffix, []byte(`,"hash":"`)) || !bytes.HasSuffix(suffix, []byte(`"}`)) {
		return nil, "", false
	}
	hash := string(suffix[9 : 9+64])
	if !isLowerHex(hash, 64) {
		return nil, "", false
	}
	body := make([]byte, 0, len(line)-hashSuffixLen+1)
	body = append(body, line[:len(line)-hashSuffixLen]...)
	body = append(body, '}')
	return body, hash, true
}

// DecodeLine parses one stored line (without its newline) and checks that
// its hash matches its body. Malformed input gives an error wrapping
// ErrMalformed; a body that does not match its hash gives ErrHashMismatch.
// The chain (seq, prev) and signatures are checked by Verify, not here.
func DecodeLine(line []byte) (*Record, error) {
	body, hash, ok := canonicalBody(line)
	if !ok {
		return nil, fmt.Errorf("%w: line does not end with a \"hash\" member of 64 lowercase hex digits", ErrMalformed)
	}
	if err := checkMembers(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the record", ErrMalformed)
	}
	r, err := fromWire(&w)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != hash {
		return r, fmt.Errorf("%w: record %d", ErrHashMismatch, r.Seq)
	}
	r.Hash = hash
	r.Line = line
	return r, nil
}

func fromWire(w *wireRecord) (*Record, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	if w.V < 1 || w.V > formatVersion {
		return nil, bad("version %d, want 1 to %d", w.V, formatVersion)
	}
	if w.Seq == 0 {
		return nil, bad("seq must be at least 1")
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return nil, bad("record %d: time: %v", w.Seq, err)
	}
	if !isLowerHex(w.Log, 32) {
		return nil, bad("record %d: log id must be 32 lowercase hex digits", w.Seq)
	}
	if !isLowerHex(w.Prev, 64) {
		return nil, bad("record %d: prev must be 64 lowercase hex digits", w.Seq)
	}
	r := &Record{Version: w.V, Seq: w.Seq, Kind: w.Kind, Time: t, LogID: w.Log, Prev: w.Prev, timeText: w.Time}
	hasEvent := w.Actor != nil || w.Action != "" || w.Resource != nil || w.Outcome != "" ||
		w.Reason != "" || w.Tenant != "" || w.RequestID != "" || w.TraceID != "" || w.SpanID != "" ||
		w.Before != nil || w.After != nil || w.Metadata != nil
	parts := 0
	for _, p := range []bool{hasEvent, w.Checkpoint != nil, w.Gap != nil, w.Recovery != nil, w.Rollback != nil} {
		if p {
			parts++
		}
	}
	if parts > 1 {
		return nil, bad("record %d mixes the members of several kinds", w.Seq)
	}
	switch w.Kind {
	case KindEvent:
		if w.Action == "" || !w.Outcome.valid() {
			return nil, bad("event %d needs an action and an outcome of success, failure or denied", w.Seq)
		}
		e := &Event{Time: t, Action: w.Action, Outcome: w.Outcome, Reason: w.Reason, Tenant: w.Tenant,
			RequestID: w.RequestID, TraceID: w.TraceID, SpanID: w.SpanID,
			Before: w.Before, After: w.After, Metadata: w.Metadata}
		if w.Actor != nil {
			e.Actor = *w.Actor
		}
		if w.Resource != nil {
			e.Resource = *w.Resource
		}
		r.Event = e
	case KindCheckpoint:
		if w.Checkpoint == nil || w.Checkpoint.Reason == "" || !isLowerHex(w.Checkpoint.KeyID, 16) || w.Checkpoint.Sig == "" {
			return nil, bad("checkpoint %d needs a reason, a 16-hex-digit key_id and a sig", w.Seq)
		}
		r.Checkpoint = w.Checkpoint
	case KindGap:
		if w.Gap == nil || w.Gap.Dropped == 0 {
			return nil, bad("gap %d needs a dropped count", w.Seq)
		}
		r.Gap = w.Gap
	case KindRecovery:
		if w.Recovery == nil {
			return nil, bad("recovery %d needs its details", w.Seq)
		}
		r.Recovery = w.Recovery
	case KindRollback:
		rb := w.Rollback
		if w.V < 2 || rb == nil || !isLowerHex(rb.WitnessedLog, 32) || rb.WitnessedSeq == 0 || !isLowerHex(rb.WitnessedHash, 64) {
			return nil, bad("rollback %d needs format version 2, a 32-hex-digit witnessed_log, a witnessed_seq and a 64-hex-digit witnessed_hash", w.Seq)
		}
		r.Rollback = rb
	default:
		return nil, bad("record %d has unknown kind %q", w.Seq, w.Kind)
	}
	return r, nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// MarshalJSON returns the record's stored line. A Record built by hand,
// without Line, is encoded as a Logger would write it, with its hash
// computed over that encoding.
func (r Record) MarshalJSON() ([]byte, error) {
	if len(r.Line) > 0 {
		return bytes.Clone(r.Line), nil
	}
	var payload []byte
	switch {
	case r.Event != nil:
		var err error
		if payload, err = eventPayload(r.Event); err != nil {
			return nil, err
		}
	case r.Checkpoint != nil:
		payload = kindPayload("checkpoint", r.Checkpoint)
	case r.Gap != nil:
		payload = kindPayload("gap", r.Gap)
	case r.Recovery != nil:
		payload = kindPayload("recovery", r.Recovery)
	case r.Rollback != nil:
		payload = kindPayload("rollback", r.Rollback)
	default:
		payload = []byte("{}")
	}
	c := r
	timeText := r.timeText
	if timeText == "" {
		timeText = formatTime(r.Time)
	}
	seal(&c, timeText, payload)
	return c.Line, nil
}

// UnmarshalJSON decodes one stored line with DecodeLine: the record's hash
// must match its body.
func (r *Record) UnmarshalJSON(b []byte) error {
	rec, err := DecodeLine(bytes.Clone(b))
	if err != nil {
		return err
	}
	*r = *rec
	return nil
}
