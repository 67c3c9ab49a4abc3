package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// PublicKeys verify checkpoint signatures; a checkpoint naming a key not
	// given here fails. Required.
	PublicKeys []ed25519.PublicKey
	// Live accepts a log whose writer may still be running: records after
	// the last checkpoint and a torn last line are counted in the report
	// instead of failing with ErrTruncated. Records after the last
	// checkpoint are then protected only by the chain: cutting them off is
	// not detectable until the next checkpoint is written.
	Live bool
	// FromStart requires the log to start at its first record (seq 1):
	// set it when no retention has removed old segments, so that removing
	// them is detected too.
	FromStart bool
}

// VerifyReport describes a verified log.
type VerifyReport struct {
	LogID string `json:"log_id"`
	// FirstSeq is 1 for a complete log, higher when older segments were
	// removed by retention: the chain then starts from a signed checkpoint.
	FirstSeq    uint64 `json:"first_seq"`
	LastSeq     uint64 `json:"last_seq"`
	Records     uint64 `json:"records"`
	Events      uint64 `json:"events"`
	Checkpoints uint64 `json:"checkpoints"`
	// Gaps and Dropped count gap records and the events they say were lost.
	Gaps    uint64 `json:"gaps"`
	Dropped uint64 `json:"dropped"`
	// Recoveries counts torn tails discarded after crashes.
	Recoveries uint64 `json:"recoveries"`
	// LastCheckpointSeq is the last signed record.
	LastCheckpointSeq uint64 `json:"last_checkpoint_seq"`
	// Unsealed counts records after the last checkpoint (Live only).
	Unsealed uint64 `json:"unsealed"`
	// Closed is set when the log ends with the checkpoint Close writes.
	Closed bool `json:"closed"`
	// TornTail is set when the last line is a write cut short (Live only).
	TornTail bool `json:"torn_tail"`
}

// Verify reads src from start to end, streaming, and checks that it is an
// unbroken hash chain whose checkpoints verify under opts.PublicKeys and
// that it ends with the checkpoint Close writes. It detects a modified,
// deleted, inserted, reordered or truncated record, truncation after the
// last checkpoint included, and returns a *VerifyError naming the first
// bad record and why (errors.Is matches ErrMalformed, ErrHashMismatch,
// ErrChainBroken, ErrBadSignature or ErrTruncated). The report describes
// what was read up to that point.
func Verify(ctx context.Context, src Source, opts VerifyOptions) (VerifyReport, error) {
	var rep VerifyReport
	if len(opts.PublicKeys) == 0 {
		return rep, errors.New("audit: VerifyOptions.PublicKeys must hold at least one key")
	}
	keys := make(map[string]ed25519.PublicKey, len(opts.PublicKeys))
	for i, k := range opts.PublicKeys {
		if len(k) != ed25519.PublicKeySize {
			return rep, fmt.Errorf("audit: VerifyOptions.PublicKeys[%d] is not an Ed25519 public key", i)
		}
		keys[KeyID(k)] = k
	}
	var (
		last      *Record
		lastWhere string
		torn      *Line
	)
	fail := func(seq uint64, where, reason string, err error) (VerifyReport, error) {
		return rep, &VerifyError{Seq: seq, Where: where, Reason: reason, Err: err}
	}
	for line, err := range src.Lines(ctx) {
		if err != nil {
			return rep, err
		}
		want := uint64(1)
		if last != nil {
			want = last.Seq + 1
		}
		if torn != nil {
			return fail(want, torn.Where, "a torn line (a write cut short) is followed by more records", ErrMalformed)
		}
		if line.Torn {
			l := line
			torn = &l
			continue
		}
		r, err := DecodeLine(line.Bytes)
		if err != nil {
			kind := ErrMalformed
			if errors.Is(err, ErrHashMismatch) {
				kind = ErrHashMismatch
				if r != nil {
					want = r.Seq
				}
			}
			return fail(want, line.Where, err.Error(), kind)
		}
		if last == nil {
			rep.LogID, rep.FirstSeq = r.LogID, r.Seq
			if r.Seq == 1 && r.Prev != genesisHash {
				return fail(r.Seq, line.Where, "the first record's prev is not the genesis value (64 zeros)", ErrChainBroken)
			}
			if r.Seq != 1 && opts.FromStart {
				return fail(1, line.Where, fmt.Sprintf("the log starts at seq %d, not 1: records before it were removed", r.Seq), ErrChainBroken)
			}
			if r.Seq != 1 && r.Kind != KindCheckpoint {
				return fail(r.Seq, line.Where, fmt.Sprintf("the log starts at seq %d with a %s record: records before it are missing, and only a signed checkpoint can start a log whose older segments were removed", r.Seq, r.Kind), ErrChainBroken)
			}
		} else {
			switch {
			case r.LogID != last.LogID:
				return fail(want, line.Where, fmt.Sprintf("record belongs to log %s, not %s", r.LogID, last.LogID), ErrChainBroken)
			case r.Seq < want:
				return fail(want, line.Where, fmt.Sprintf("seq %d follows seq %d (a reordered, duplicated or inserted record)", r.Seq, last.Seq), ErrChainBroken)
			case r.Seq > want:
				return fail(want, line.Where, fmt.Sprintf("seq %d follows seq %d: records %d..%d are missing (deleted)", r.Seq, last.Seq, want, r.Seq-1), ErrChainBroken)
			case r.Prev != last.Hash:
				return fail(want, line.Where, fmt.Sprintf("prev does not match the hash of record %d (%s): a record was modified, inserted or replaced", last.Seq, lastWhere), ErrChainBroken)
			}
		}
		switch r.Kind {
		case KindEvent:
			rep.Events++
		case KindCheckpoint:
			if err := verifyCheckpoint(r, keys); err != nil {
				return fail(r.Seq, line.Where, err.Error(), ErrBadSignature)
			}
			rep.Checkpoints++
			rep.LastCheckpointSeq = r.Seq
		case KindGap:
			rep.Gaps++
			rep.Dropped += r.Gap.Dropped
		case KindRecovery:
			rep.Recoveries++
		}
		rep.Records++
		rep.LastSeq = r.Seq
		r.Line = nil // the source may reuse the bytes
		last, lastWhere = r, line.Where
	}
	if last == nil {
		if torn != nil || !opts.Live {
			return fail(1, "", "the log holds no complete record", ErrTruncated)
		}
		return rep, nil
	}
	if rep.FirstSeq != 1 && rep.Checkpoints == 0 {
		return fail(rep.FirstSeq, "", "no checkpoint", ErrBadSignature)
	}
	rep.Unsealed = rep.Records
	if rep.LastCheckpointSeq != 0 {
		rep.Unsealed = rep.LastSeq - rep.LastCheckpointSeq
	}
	rep.Closed = last.Kind == KindCheckpoint && last.Checkpoint.Reason == "close"
	rep.TornTail = torn != nil
	if opts.Live {
		return rep, nil
	}
	switch {
	case torn != nil:
		return fail(last.Seq+1, torn.Where, "the last line is torn (a write cut short by a crash); reopening the log with a Logger records and removes it", ErrTruncated)
	case last.Kind != KindCheckpoint:
		return fail(last.Seq+1, lastWhere, fmt.Sprintf("the log ends at record %d, %d record(s) after the last checkpoint: it was truncated, or its writer is still running or crashed (verify with Live, or reopen and close it)", last.Seq, rep.Unsealed), ErrTruncated)
	case !rep.Closed:
		return fail(last.Seq+1, lastWhere, fmt.Sprintf("the log ends with a %q checkpoint, not the one Close writes: later records may have been cut off (or the writer is still running: verify with Live)", last.Checkpoint.Reason), ErrTruncated)
	}
	return rep, nil
}
