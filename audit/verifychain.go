package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
)

// verifyConfig is what every run of a verification shares.
type verifyConfig struct {
	keys      map[string]ed25519.PublicKey
	opts      VerifyOptions
	witness   Head  // zero: none, or nothing witnessed
	resume    *Mark // nil: from the start
	skipBelow uint64
}

// recHead is what the chain keeps of a record: enough to link the next one
// and to report where it was.
type recHead struct {
	seq    uint64
	kind   Kind
	log    [32]byte
	prev   [64]byte
	hash   [64]byte
	reason string // a checkpoint's reason
	where  string
	start  uint64 // the line's Start
	zero   bool   // the line's zeroStart
}

func (h *recHead) set(r *vrec, line *Line) {
	h.seq, h.kind, h.where, h.start, h.zero = r.seq, r.kind, line.Where, line.Start, line.zeroStart
	copy(h.log[:], r.log)
	copy(h.prev[:], r.prev)
	copy(h.hash[:], r.hash)
	h.reason = ""
	if r.kind == KindCheckpoint {
		h.reason = string(r.reason)
	}
}

// runCheckpoint is the newest checkpoint of a run and the run's counts up
// to it.
type runCheckpoint struct {
	seq      uint64
	hash     [64]byte
	timeText string
	counts   Counts
}

// runError is a failure inside a run. When the failing line's seq could
// not be known inside the run (its first line), afterPrev is set and the
// seq is the one after the previous run's last record.
type runError struct {
	seq       uint64
	afterPrev bool
	where     string
	reason    string
	err       error
}

// chainRun checks a run of consecutive lines: the whole log, or one
// segment when segments are verified in parallel. Everything but the link
// of its first record to what came before is checked here; stitch checks
// that link, and the log's start and end.
type chainRun struct {
	cfg *verifyConfig
	dec *lineDecoder
	r   vrec

	lines     int
	hasFirst  bool
	first     recHead
	hasLast   bool
	last      recHead
	hasPre    bool
	pre       recHead // the last record read before the resume mark
	counts    Counts
	cp        runCheckpoint
	hasCP     bool
	torn      bool
	tornWhere string
	matched   bool // the witnessed record was found, with its hash
	// uncountFirst leaves the first record out of the counts: on resume it
	// is the mark, which the mark's counts already hold.
	uncountFirst bool
	skipBelow    uint64
	fail         *runError
	srcErr       error
}

func newChainRun(cfg *verifyConfig, dec *lineDecoder) *chainRun {
	return &chainRun{cfg: cfg, dec: dec}
}

func (c *chainRun) failAt(seq uint64, where, reason string, err error) bool {
	c.fail = &runError{seq: seq, where: where, reason: reason, err: err}
	return false
}

// failNext fails at the record that should follow the last one.
func (c *chainRun) failNext(where, reason string, err error) bool {
	if c.hasLast {
		return c.failAt(c.last.seq+1, where, reason, err)
	}
	c.fail = &runError{afterPrev: true, where: where, reason: reason, err: err}
	return false
}

// feed checks one line; it returns false once the run has failed.
func (c *chainRun) feed(line Line) bool {
	if c.fail != nil {
		return false
	}
	c.lines++
	if c.torn {
		return c.failNext(c.tornWhere, "a torn line (a write cut short) is followed by more records", ErrMalformed)
	}
	if line.Torn {
		c.torn, c.tornWhere = true, line.Where
		return true
	}
	r := &c.r
	if err := c.dec.decode(line.Bytes, r); err != nil {
		if errors.Is(err, ErrHashMismatch) && r.seq != 0 {
			return c.failAt(r.seq, line.Where, err.Error(), ErrHashMismatch)
		}
		return c.failNext(line.Where, err.Error(), ErrMalformed)
	}
	first := !c.hasFirst
	if first && c.skipBelow > 0 && r.seq < c.skipBelow {
		// Before the resume mark: not verified again, but they must link
		// into it, so that the source read the mark's real neighbours.
		if c.hasPre {
			if reason := linkReason(&c.pre, r); reason != "" {
				return c.failAt(c.pre.seq+1, line.Where, reason, ErrChainBroken)
			}
		}
		if seq, reason := startMismatch(line.Start, line.zeroStart, r.seq); reason != "" {
			return c.failAt(seq, line.Where, reason, ErrChainBroken)
		}
		c.pre.set(r, &line)
		c.hasPre = true
		c.lines--
		return true
	}
	if first && c.hasPre {
		if reason := linkReason(&c.pre, r); reason != "" {
			return c.failAt(c.pre.seq+1, line.Where, reason, ErrChainBroken)
		}
	}
	if first {
		// Noted before any check of its own: stitch links it to the run
		// before first, as one pass would.
		c.first.set(r, &line)
		c.hasFirst = true
	}
	if c.hasLast {
		if reason := linkReason(&c.last, r); reason != "" {
			return c.failAt(c.last.seq+1, line.Where, reason, ErrChainBroken)
		}
	}
	if seq, reason := startMismatch(line.Start, line.zeroStart, r.seq); reason != "" {
		return c.failAt(seq, line.Where, reason, ErrChainBroken)
	}
	counted := !(c.uncountFirst && first)
	switch r.kind {
	case KindEvent:
		if counted {
			c.counts.Events++
		}
	case KindCheckpoint:
		if err := verifySignature(c.cfg.keys, r); err != nil {
			return c.failAt(r.seq, line.Where, err.Error(), ErrBadSignature)
		}
		if counted {
			c.counts.Checkpoints++
		}
	case KindGap:
		if counted {
			c.counts.Gaps++
			c.counts.Dropped += r.dropped
		}
	case KindRecovery:
		if counted {
			c.counts.Recoveries++
		}
	case KindRollback:
		if counted {
			c.counts.Rollbacks++
		}
	}
	if w := c.cfg.witness; !w.IsZero() && r.seq == w.Seq && !c.matched {
		if string(r.log) != w.LogID || string(r.hash) != w.Hash {
			return c.failAt(r.seq, line.Where, fmt.Sprintf("record %d is not the witnessed checkpoint of %s (hash %s): the log was rewritten from there", w.Seq, w.LogID, w.Hash), ErrRollback)
		}
		c.matched = true
	}
	if counted {
		c.counts.Records++
	}
	if r.kind == KindCheckpoint {
		c.cp = runCheckpoint{seq: r.seq, timeText: string(r.timeText), counts: c.counts}
		copy(c.cp.hash[:], r.hash)
		c.hasCP = true
	}
	c.last.set(r, &line)
	c.hasLast = true
	return true
}

// startMismatch checks a line that starts a part of the log which says
// which record it holds first (Line.Start): a segment named by its first
// record, a SQL log starting at record 1. It returns the seq to report and
// why, or "" when the record is the one claimed.
func startMismatch(start uint64, zero bool, seq uint64) (uint64, string) {
	switch {
	case zero:
		return seq, "the segment's name says it starts with record 0, which no log has: it was renamed"
	case start == 0 || seq == start:
		return 0, ""
	}
	reason := fmt.Sprintf("this part of the log should start with record %d (a segment's name says which record it starts with; a SQL log starts at 1), but it starts with record %d", start, seq)
	if seq > start {
		reason += fmt.Sprintf(": records %d..%d were cut from its head", start, seq-1)
	}
	return start, reason
}

// linkReason says why r does not follow last ("" when it does).
func linkReason(last *recHead, r *vrec) string {
	want := last.seq + 1
	switch {
	case !bytes.Equal(r.log, last.log[:]):
		return fmt.Sprintf("record belongs to log %s, not %s", r.log, last.log[:])
	case r.seq < want:
		return fmt.Sprintf("seq %d follows seq %d (a reordered, duplicated or inserted record)", r.seq, last.seq)
	case r.seq > want:
		return fmt.Sprintf("seq %d follows seq %d: records %d..%d are missing (deleted)", r.seq, last.seq, want, r.seq-1)
	case !bytes.Equal(r.prev, last.hash[:]):
		return fmt.Sprintf("prev does not match the hash of record %d (%s): a record was modified, inserted or replaced", last.seq, last.where)
	}
	return ""
}

// verifySignature checks a checkpoint's signature with the key it names.
func verifySignature(keys map[string]ed25519.PublicKey, r *vrec) error {
	pub, ok := keys[string(r.keyID)]
	if !ok {
		return fmt.Errorf("%w: key %s is not among the public keys given", ErrBadSignature, r.keyID)
	}
	sig, err := base64.StdEncoding.DecodeString(string(r.sig))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: sig is not a base64 Ed25519 signature", ErrBadSignature)
	}
	msg := checkpointMessage(r.version, string(r.log), r.seq, string(r.prev), string(r.reason), string(r.timeText))
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("%w: signature by key %s does not verify", ErrBadSignature, r.keyID)
	}
	return nil
}
