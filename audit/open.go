package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// New validates cfg, opens every sink, checks each witnessed log against
// its witness and starts the writer. Before any event it writes what the
// opening found, each record signed by a checkpoint: a recovery record when
// a sink discarded a torn tail, and a rollback record when
// Config.AcceptRollback accepts a log behind its witness. A log behind its
// witness is otherwise refused with a *RollbackError (errors.Is
// ErrRollback), and nothing is written to it.
func New(cfg Config) (*Logger, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	red, err := newRedactor(cfg.Sensitive, cfg.HMACKey)
	if err != nil {
		return nil, err
	}
	l := &Logger{
		cfg: cfg, red: red,
		keyID:    KeyID(cfg.SigningKey.Public().(ed25519.PublicKey)),
		queue:    make(chan *pending, cfg.QueueSize),
		stopping: make(chan struct{}),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	l.pendingPool.New = func() any { return &pending{done: make(chan error, 1)} }
	if l.inst, err = newInstruments(cfg.MeterProvider, l); err != nil {
		return nil, err
	}
	ctx := context.Background()
	accepted := false
	for i, s := range cfg.Sinks {
		st, err := openSink(ctx, s)
		if err == nil && i < len(cfg.Witnesses) && cfg.Witnesses[i] != nil {
			var ok bool
			ok, err = l.checkWitness(ctx, i, st, cfg.Witnesses[i])
			accepted = accepted || ok
		}
		if err == nil {
			err = l.openRecords(ctx, st)
		}
		if err != nil {
			if a, ok := s.(interface{ abandonOpen() }); ok && st != nil {
				a.abandonOpen() // a refused log is left as it was found
			}
			_ = s.Close()
			for _, prev := range l.sinks {
				_ = prev.sink.Close()
			}
			l.inst.unregister()
			var re *RollbackError
			if errors.As(err, &re) {
				return nil, err
			}
			return nil, fmt.Errorf("audit: open Config.Sinks[%d]: %w", i, err)
		}
		l.sinks = append(l.sinks, st)
	}
	if a := cfg.AcceptRollback; a != nil && !accepted {
		cfg.Logger.Warn("audit: Config.AcceptRollback matches no witness and was ignored: remove it",
			"log", a.LogID, "witnessed_seq", a.WitnessedSeq)
	}
	for _, st := range l.sinks {
		l.startPublisher(ctx, st)
	}
	l.opened.Store(&l.sinks)
	go l.run()
	return l, nil
}

// startPublisher hands the log's newest checkpoint to its witness now —
// New may wait for the witness; the writer never does — and starts the
// goroutine that publishes the checkpoints to come.
func (l *Logger) startPublisher(ctx context.Context, st *sinkState) {
	if st.witness == nil {
		return
	}
	st.pub = newPublisher(l, st)
	if !st.lastCheckpoint.IsZero() {
		st.pub.offer(st.lastCheckpoint)
		st.pub.attempt()
	}
	go st.pub.run()
}

func openSink(ctx context.Context, s Sink) (*sinkState, error) {
	os, err := s.Open(ctx)
	if err != nil {
		return nil, err
	}
	st := &sinkState{sink: s, head: genesisHash}
	if last := os.Last; last != nil {
		st.logID, st.seq, st.head = last.LogID, last.Seq, last.Hash
		if last.Kind == KindCheckpoint {
			st.noteCheckpoint(last)
		} else {
			st.sinceCheckpoint = 1
		}
	} else {
		var id [16]byte
		if _, err := rand.Read(id[:]); err != nil {
			return nil, err
		}
		st.logID = hex.EncodeToString(id[:])
	}
	if os.Recovered != nil {
		st.recs = []*Record{{Kind: KindRecovery, Recovery: os.Recovered}}
		st.recoveredTail = true
	}
	return st, nil
}

// checkWitness compares the opened log with its witness. It returns true
// when Config.AcceptRollback accepted a rollback, which openRecords then
// records.
func (l *Logger) checkWitness(ctx context.Context, i int, st *sinkState, w Witness) (bool, error) {
	st.witness = w
	head, err := w.Head(ctx)
	if err != nil {
		return false, fmt.Errorf("read the head of Config.Witnesses[%d]: %w", i, err)
	}
	if !head.IsZero() {
		if err := head.valid(); err != nil {
			return false, fmt.Errorf("%w: Config.Witnesses[%d] holds a malformed head: %v", ErrMalformed, i, err)
		}
	}
	at := func(seq uint64) (string, uint64, error) { return hashAt(ctx, st.sink.(Source), seq) }
	reason, err := rollbackCheck(head, st.logID, st.seq, st.head, at)
	if err != nil {
		return false, fmt.Errorf("read back the record Config.Witnesses[%d] holds: %w", i, err)
	}
	if reason == "" {
		st.witnessed = head
		st.witnessedSeq.Store(head.Seq)
		return false, nil
	}
	a := l.cfg.AcceptRollback
	if a == nil || a.LogID != head.LogID || a.WitnessedSeq != head.Seq || a.WitnessedHash != head.Hash {
		return false, &RollbackError{Sink: i, Witnessed: head, LogID: st.logID, LastSeq: st.seq, Reason: reason}
	}
	st.witnessed = head
	st.recs = append(st.recs, &Record{Kind: KindRollback, Rollback: &Rollback{
		WitnessedLog: head.LogID, WitnessedSeq: head.Seq, WitnessedHash: head.Hash, LastSeq: st.seq,
		Reason: truncateText(a.Reason, l.cfg.MaxFieldSize)}})
	l.cfg.Logger.Warn("audit: continuing a log behind its witness, as Config.AcceptRollback accepts",
		"sink", i, "witnessed_log", head.LogID, "witnessed_seq", head.Seq, "log", st.logID, "last_seq", st.seq, "found", reason)
	return true, nil
}

// hashAt returns the hash of record seq of src, or "" when src has none;
// first is the seq of the first record src holds when that is after seq
// (retention removed the record), else 0.
func hashAt(ctx context.Context, src Source, seq uint64) (hash string, first uint64, err error) {
	lines := src.Lines(ctx)
	if s, ok := src.(SeekSource); ok {
		lines = s.LinesFrom(ctx, seq)
	}
	seen := false
	for line, err := range lines {
		if err != nil {
			return "", 0, err
		}
		if line.Torn {
			continue
		}
		if n, ok := peekSeq(line.Bytes); ok && n < seq {
			seen = true
			continue
		}
		r, err := DecodeLine(line.Bytes)
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", line.Where, err)
		}
		switch {
		case r.Seq == seq:
			return r.Hash, 0, nil
		case r.Seq > seq && !seen:
			return "", r.Seq, nil
		case r.Seq > seq:
			return "", 0, nil
		}
		seen = true
	}
	return "", 0, nil
}

// openRecords gives a segment left empty by a crash during rotation its
// opening checkpoint, then writes what openSink and checkWitness found: a
// recovery record, a rollback record, each signed by a checkpoint.
func (l *Logger) openRecords(ctx context.Context, st *sinkState) error {
	found := st.recs
	st.recs = nil
	now := time.Now()
	if st.recoveredTail {
		if d, ok := st.sink.(interface{ discardTorn() error }); ok {
			if err := d.discardTorn(); err != nil {
				return err
			}
		}
	}
	var recs []*Record
	// A rotated segment starts with a signed checkpoint, so that it can be
	// verified on its own once retention removes the ones before; a crash
	// between creating a segment and writing that checkpoint leaves it empty.
	if r, ok := st.sink.(RotatingSink); ok && r.SegmentEmpty() && st.seq != 0 {
		recs = append(recs, l.checkpointRecord(st, "rotate", now))
	}
	for _, f := range found {
		r := l.nextRecord(st, f.Kind, now)
		var payload []byte
		reason := string(f.Kind)
		switch f.Kind {
		case KindRecovery:
			r.Recovery = f.Recovery
			payload = kindPayload("recovery", f.Recovery)
			l.cfg.Logger.Warn("audit: torn last line discarded on reopen and recorded",
				"segment", f.Recovery.Segment, "offset", f.Recovery.Offset, "bytes", f.Recovery.DiscardedBytes)
		case KindRollback:
			r.Rollback = f.Rollback
			payload = kindPayload("rollback", f.Rollback)
		}
		seal(r, formatTime(now), payload)
		l.advance(st, r)
		recs = append(recs, r, l.checkpointRecord(st, reason, now))
	}
	if len(recs) == 0 {
		return nil
	}
	if err := st.sink.Append(ctx, recs, true); err != nil {
		return err
	}
	l.appended(st, recs)
	return nil
}
