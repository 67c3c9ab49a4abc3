package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// PublicKeys verify checkpoint signatures; a checkpoint naming a key not
	// given here fails. Required.
	PublicKeys []ed25519.PublicKey
	// Live accepts a log whose writer may still be running: records after
	// the last checkpoint and a torn last line are counted in the report
	// instead of failing with ErrTruncated. Records after the last
	// checkpoint are then protected only by the chain: anyone who can write
	// the log can cut them off, or edit them and recompute the chain,
	// without the signing key, until the next checkpoint seals them.
	Live bool
	// FromStart requires the log to start at its first record (seq 1):
	// set it when no retention has removed old segments, so that removing
	// them is detected too.
	FromStart bool
	// Witness, when set, is read once and its head must be in the log: the
	// log must reach the witnessed checkpoint and hold it, with the same
	// hash; otherwise Verify fails with ErrRollback naming the missing
	// records. This is what detects a log cut back to an earlier
	// checkpoint, "close" checkpoints of earlier runs included.
	Witness Witness
	// Resume, when set, verifies only what follows this checkpoint, which
	// an earlier Verify of the same log found good (VerifyReport.Mark): the
	// log must still hold it, with the same hash and a valid signature, and
	// the report's counts are the mark's plus the new records'. Records
	// before the mark are not read again, so their later tampering is not
	// detected: run a full verification from time to time. The source
	// should be a SeekSource (FileSink's and the SQL sink's are), or every
	// record before the mark is read and skipped.
	Resume *Mark
	// Workers is how many segments are verified at once when the source
	// is a SegmentedSource (DirSource, FileSink, the SQL sink). Default
	// GOMAXPROCS; 1 reads the log in one pass.
	Workers int
}

// Counts are what a stretch of log holds, by kind of record.
type Counts struct {
	Records     uint64 `json:"records"`
	Events      uint64 `json:"events"`
	Checkpoints uint64 `json:"checkpoints"`
	// Gaps and Dropped count gap records and the events they say were lost.
	Gaps    uint64 `json:"gaps"`
	Dropped uint64 `json:"dropped"`
	// Recoveries counts torn tails discarded after crashes.
	Recoveries uint64 `json:"recoveries"`
	// Rollbacks counts rollbacks an operator accepted
	// (Config.AcceptRollback): each says which witnessed records were lost.
	Rollbacks uint64 `json:"rollbacks"`
}

func (c *Counts) add(o Counts) {
	c.Records += o.Records
	c.Events += o.Events
	c.Checkpoints += o.Checkpoints
	c.Gaps += o.Gaps
	c.Dropped += o.Dropped
	c.Recoveries += o.Recoveries
	c.Rollbacks += o.Rollbacks
}

// Mark is a checkpoint that Verify found good, and what the log held from
// its first record through it: VerifyOptions.Resume verifies from there.
// Its JSON form is what `keel audit verify -state` keeps.
type Mark struct {
	LogID    string    `json:"log"`
	FirstSeq uint64    `json:"first_seq"`
	Seq      uint64    `json:"seq"`
	Hash     string    `json:"hash"`
	Time     time.Time `json:"time"`
	Counts
}

// VerifyReport describes a verified log.
type VerifyReport struct {
	LogID string `json:"log_id"`
	// FirstSeq is 1 for a complete log, higher when older segments were
	// removed by retention: the chain then starts from a signed checkpoint.
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Counts are of the whole log from FirstSeq, the mark's included when
	// verification resumed.
	Counts
	// LastCheckpointSeq is the last signed record.
	LastCheckpointSeq uint64 `json:"last_checkpoint_seq"`
	// Unsealed counts records after the last checkpoint (Live only).
	Unsealed uint64 `json:"unsealed"`
	// Closed is set when the log ends with the checkpoint Close writes.
	Closed bool `json:"closed"`
	// TornTail is set when the last line is a write cut short (Live only).
	TornTail bool `json:"torn_tail"`
	// ResumedAfter is the mark's seq when verification resumed: records up
	// to it were verified before and not read again.
	ResumedAfter uint64 `json:"resumed_after,omitempty"`
	// Witness is the head the witness held (zero without one).
	// WitnessMatched is set when the log holds that record with its hash; it
	// is not when the record is before what was read (retention removed it,
	// or it precedes the resume mark) — the log is then past it.
	Witness        Head `json:"witness,omitzero"`
	WitnessMatched bool `json:"witness_matched"`
	// Mark is the last checkpoint verified, nil when none was: keep it and
	// pass it as VerifyOptions.Resume to verify only what follows.
	Mark *Mark `json:"mark,omitempty"`
}

// Verify reads src and checks that it is an unbroken hash chain whose
// checkpoints verify under opts.PublicKeys, that each segment holds the
// records its name says, that it reaches its witness's head, and that it
// ends with the checkpoint Close writes. It detects a modified, deleted,
// inserted, reordered or truncated record — truncation after the last
// checkpoint included, and, with a witness, a log cut back to an earlier
// checkpoint — and returns a *VerifyError naming the first bad record and
// why (errors.Is matches ErrMalformed, ErrHashMismatch, ErrChainBroken,
// ErrBadSignature, ErrTruncated or ErrRollback). The report describes what
// was read up to that point. Segments of a SegmentedSource are verified in
// parallel (opts.Workers); memory does not grow with the log.
func Verify(ctx context.Context, src Source, opts VerifyOptions) (VerifyReport, error) {
	var rep VerifyReport
	cfg, err := newVerifyConfig(ctx, opts)
	if err != nil {
		return rep, err
	}
	rep.Witness = cfg.witness
	var runs []*chainRun
	if seg, ok := src.(SegmentedSource); ok && opts.Workers != 1 {
		parts, err := seg.Segments(ctx, max(cfg.skipBelow, 1))
		if err != nil {
			return rep, err
		}
		runs = verifyParts(ctx, cfg, parts, opts.Workers)
	} else {
		lines := src.Lines(ctx)
		if s, ok := src.(SeekSource); ok && cfg.skipBelow > 1 {
			lines = s.LinesFrom(ctx, cfg.skipBelow)
		}
		runs = []*chainRun{cfg.newRun(newLineDecoder(), true).feedAll(lines)}
	}
	return cfg.stitch(runs)
}

// feedAll feeds run the lines until one fails or the source does, and
// returns run.
func (run *chainRun) feedAll(lines iter.Seq2[Line, error]) *chainRun {
	for line, err := range lines {
		if err != nil {
			run.srcErr = err
			break
		}
		if !run.feed(line) {
			break
		}
	}
	return run
}

func newVerifyConfig(ctx context.Context, opts VerifyOptions) (*verifyConfig, error) {
	if len(opts.PublicKeys) == 0 {
		return nil, errors.New("audit: VerifyOptions.PublicKeys must hold at least one key")
	}
	if opts.Workers < 0 {
		return nil, fmt.Errorf("audit: VerifyOptions.Workers must not be negative, got %d", opts.Workers)
	}
	cfg := &verifyConfig{opts: opts, keys: make(map[string]ed25519.PublicKey, len(opts.PublicKeys))}
	for i, k := range opts.PublicKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("audit: VerifyOptions.PublicKeys[%d] is not an Ed25519 public key", i)
		}
		cfg.keys[KeyID(k)] = k
	}
	if m := opts.Resume; m != nil {
		if !isLowerHex(m.LogID, 32) || m.Seq == 0 || !isLowerHex(m.Hash, 64) || m.FirstSeq == 0 || m.FirstSeq > m.Seq {
			return nil, errors.New("audit: VerifyOptions.Resume is not a mark Verify returned: it needs a 32-hex-digit log id, a 64-hex-digit hash and 1 <= first seq <= seq")
		}
		cfg.resume, cfg.skipBelow = m, m.Seq
	}
	if opts.Witness != nil {
		h, err := opts.Witness.Head(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: read the witness: %w", err)
		}
		if !h.IsZero() {
			if err := h.valid(); err != nil {
				return nil, fmt.Errorf("audit: the witness holds a malformed head: %v", err)
			}
		}
		cfg.witness = h
	}
	return cfg, nil
}

// newRun starts a run; the first run of a resumed verification skips what
// precedes the mark and does not count the mark again.
func (cfg *verifyConfig) newRun(dec *lineDecoder, first bool) *chainRun {
	run := newChainRun(cfg, dec)
	if first && cfg.resume != nil {
		run.skipBelow, run.uncountFirst = cfg.skipBelow, true
	}
	return run
}

// verifyParts verifies each part in its own run, workers at a time, and
// stops taking parts after the first that fails: the first failure in log
// order is in it or before it.
func verifyParts(ctx context.Context, cfg *verifyConfig, parts []Source, workers int) []*chainRun {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(parts))
	runs := make([]*chainRun, len(parts))
	var next atomic.Int64
	var stop atomic.Int64
	stop.Store(int64(len(parts)))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			dec := newLineDecoder()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(parts)) || i > stop.Load() {
					return
				}
				run := cfg.newRun(dec, i == 0).feedAll(parts[i].Lines(ctx))
				runs[i] = run
				if run.fail != nil || run.srcErr != nil {
					for s := stop.Load(); i < s && !stop.CompareAndSwap(s, i); s = stop.Load() {
					}
				}
			}
		})
	}
	wg.Wait()
	return runs
}

// stitch joins the runs in log order as one pass over the log would see
// them: each run's first record must continue the one before, the first of
// all must be a valid start, and the log must end as VerifyOptions asks.
func (cfg *verifyConfig) stitch(runs []*chainRun) (VerifyReport, error) {
	s := &stitcher{cfg: cfg}
	if cfg.resume != nil {
		s.counts = cfg.resume.Counts
	}
	for _, run := range runs {
		if err := s.join(run); err != nil {
			return s.report(), err
		}
	}
	return s.finish()
}

// stitcher is what one pass over the log has seen so far, run by run.
type stitcher struct {
	cfg       *verifyConfig
	first     recHead // the first record read
	last      recHead // the last complete record read
	hasLast   bool
	torn      bool // the last line read is torn
	tornWhere string
	cp        *runCheckpoint // the last checkpoint read
	cpBase    Counts         // the counts before cp's run
	matched   bool           // the witnessed record was read, with its hash
	counts    Counts
}

// join takes the next run in log order. It returns a *VerifyError for the
// first bad record, or the source's error.
func (s *stitcher) join(run *chainRun) error {
	if s.torn && run.lines > 0 {
		return s.fail(s.next(), s.tornWhere, "a torn line (a write cut short) is followed by more records", ErrMalformed)
	}
	if err := s.checkStart(run); err != nil {
		return err
	}
	if f := run.fail; f != nil {
		seq := f.seq
		if f.afterPrev {
			seq = s.next()
		}
		return s.fail(seq, f.where, f.reason, f.err)
	}
	if run.srcErr != nil {
		return run.srcErr
	}
	if !run.hasFirst {
		if run.torn {
			s.torn, s.tornWhere = true, run.tornWhere
		}
		return nil
	}
	if !s.hasLast {
		s.first = run.first
	}
	if run.hasCP {
		s.cp, s.cpBase = &run.cp, s.counts
	}
	s.counts.add(run.counts)
	s.last, s.hasLast = run.last, true
	s.matched = s.matched || run.matched
	s.torn, s.tornWhere = run.torn, run.tornWhere
	return nil
}

// checkStart checks that run's first record continues the last one read,
// or, for the first record of all, that it is a valid start.
func (s *stitcher) checkStart(run *chainRun) error {
	if !run.hasFirst {
		return nil
	}
	if s.hasLast {
		if reason := linkReasonHeads(&s.last, &run.first); reason != "" {
			return s.fail(s.last.seq+1, run.first.where, reason, ErrChainBroken)
		}
		return nil
	}
	if seq, reason, kind := s.cfg.startReason(&run.first); reason != "" {
		return s.fail(seq, run.first.where, reason, kind)
	}
	return nil
}

// next is the seq the next record must have.
func (s *stitcher) next() uint64 {
	switch {
	case s.hasLast:
		return s.last.seq + 1
	case s.cfg.resume != nil:
		return s.cfg.resume.Seq
	}
	return 1
}

func (s *stitcher) fail(seq uint64, where, reason string, err error) error {
	return &VerifyError{Seq: seq, Where: where, Reason: reason, Err: err}
}

// report describes what was read so far, with the mark to resume from.
func (s *stitcher) report() VerifyReport {
	cfg := s.cfg
	rep := VerifyReport{Witness: cfg.witness, Counts: s.counts, WitnessMatched: s.matched}
	if cfg.resume != nil {
		rep.ResumedAfter = cfg.resume.Seq
	}
	if s.hasLast {
		rep.LogID, rep.LastSeq = string(s.last.log[:]), s.last.seq
		rep.FirstSeq = s.first.seq
		if cfg.resume != nil {
			rep.FirstSeq = cfg.resume.FirstSeq
		}
	}
	if cp := s.cp; cp != nil {
		rep.LastCheckpointSeq = cp.seq
		c := s.cpBase
		c.add(cp.counts)
		m := &Mark{LogID: rep.LogID, FirstSeq: rep.FirstSeq, Seq: cp.seq, Hash: string(cp.hash[:]), Counts: c}
		m.Time, _ = time.Parse(time.RFC3339Nano, cp.timeText)
		rep.Mark = m
	} else if cfg.resume != nil {
		rep.LastCheckpointSeq = cfg.resume.Seq
		m := *cfg.resume
		rep.Mark = &m
	}
	return rep
}

// startReason checks the first record read: the genesis, a retained log's
// opening checkpoint, the resume mark, and the witness's log.
func (cfg *verifyConfig) startReason(f *recHead) (uint64, string, error) {
	if w := cfg.witness; !w.IsZero() && string(f.log[:]) != w.LogID {
		return f.seq, fmt.Sprintf("the log is log %s, but its witness holds log %s up to seq %d: the log was replaced", f.log[:], w.LogID, w.Seq), ErrRollback
	}
	if seq, reason := startMismatch(f.start, f.zero, f.seq); reason != "" {
		return seq, reason, ErrChainBroken // as the run reports it, before the start rules
	}
	if m := cfg.resume; m != nil {
		switch {
		case cfg.opts.FromStart && m.FirstSeq != 1:
			return 1, fmt.Sprintf("the resume mark says the log starts at seq %d, not 1: records before it were removed", m.FirstSeq), ErrChainBroken
		case f.seq != m.Seq || string(f.hash[:]) != m.Hash || string(f.log[:]) != m.LogID:
			return m.Seq, fmt.Sprintf("resuming after checkpoint %d of log %s (hash %s), but the log holds record %d of log %s (hash %s) there: the log was rewritten from there, the mark's segment was removed by retention, or the mark is of another log", m.Seq, m.LogID, m.Hash, f.seq, f.log[:], f.hash[:]), ErrChainBroken
		case f.kind != KindCheckpoint:
			return m.Seq, "the resume mark is not a checkpoint", ErrChainBroken
		}
		return 0, "", nil
	}
	if f.seq == 1 {
		if string(f.prev[:]) != genesisHash {
			return 1, "the first record's prev is not the genesis value (64 zeros)", ErrChainBroken
		}
		return 0, "", nil
	}
	if cfg.opts.FromStart {
		return 1, fmt.Sprintf("the log starts at seq %d, not 1: records before it were removed", f.seq), ErrChainBroken
	}
	if f.kind != KindCheckpoint || f.reason != "rotate" {
		what := string(f.kind) + " record"
		if f.kind == KindCheckpoint {
			what = fmt.Sprintf("%q checkpoint", f.reason)
		}
		return f.seq, fmt.Sprintf("the log starts at seq %d with a %s: records before it are missing, and only the signed \"rotate\" checkpoint that opens a segment can start a log whose older segments retention removed", f.seq, what), ErrChainBroken
	}
	return 0, "", nil
}

// finish applies the end-of-log rules: the witness reached, then sealed and
// closed unless Live.
func (s *stitcher) finish() (VerifyReport, error) {
	cfg, w, last := s.cfg, s.cfg.witness, &s.last
	if !s.hasLast {
		switch {
		case !w.IsZero():
			return s.report(), s.fail(1, "", fmt.Sprintf("the log holds no complete record, but its witness holds log %s up to seq %d: the log was deleted or replaced", w.LogID, w.Seq), ErrRollback)
		case cfg.resume != nil:
			return s.report(), s.fail(cfg.resume.Seq, "", fmt.Sprintf("the log no longer holds the resume mark, checkpoint %d: it was cut back", cfg.resume.Seq), ErrTruncated)
		case s.torn || !cfg.opts.Live:
			return s.report(), s.fail(1, "", "the log holds no complete record", ErrTruncated)
		}
		return s.report(), nil
	}
	rep := s.report()
	if !w.IsZero() && !s.matched && last.seq < w.Seq {
		return rep, s.fail(last.seq+1, last.where, fmt.Sprintf("the log ends at seq %d, before the witnessed checkpoint at seq %d (%s): records %d..%d are missing — the log was cut or rolled back",
			last.seq, w.Seq, formatTime(w.Time), last.seq+1, w.Seq), ErrRollback)
	}
	if rep.FirstSeq != 1 && rep.Checkpoints == 0 {
		return rep, s.fail(rep.FirstSeq, "", "no checkpoint", ErrBadSignature)
	}
	rep.Unsealed = rep.LastSeq - rep.LastCheckpointSeq
	rep.Closed = last.kind == KindCheckpoint && last.reason == "close"
	rep.TornTail = s.torn
	if cfg.opts.Live {
		return rep, nil
	}
	switch {
	case s.torn:
		return rep, s.fail(last.seq+1, s.tornWhere, "the last line is torn (a write cut short by a crash); reopening the log with a Logger records and removes it", ErrTruncated)
	case last.kind != KindCheckpoint:
		return rep, s.fail(last.seq+1, last.where, fmt.Sprintf("the log ends at record %d, %d record(s) after the last checkpoint: it was truncated, or its writer is still running or crashed (verify with -live / VerifyOptions.Live, or reopen and close it)", last.seq, rep.Unsealed), ErrTruncated)
	case !rep.Closed:
		return rep, s.fail(last.seq+1, last.where, fmt.Sprintf("the log ends with a %q checkpoint, not the one Close writes: later records may have been cut off (or the writer is still running: verify with -live / VerifyOptions.Live)", last.reason), ErrTruncated)
	}
	return rep, nil
}

// linkReasonHeads is linkReason between two runs.
func linkReasonHeads(last, first *recHead) string {
	r := vrec{seq: first.seq, log: first.log[:], prev: first.prev[:]}
	return linkReason(last, &r)
}
