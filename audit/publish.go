package audit

import (
	"context"
	"errors"
	"time"
)

// witnessTimeout bounds one witness call, so that a witness that hangs
// cannot stall the writer (and the durable callers waiting for it) for
// longer: a failed publish is retried at the next checkpoint.
const witnessTimeout = 10 * time.Second

// noteCheckpoint records r, a checkpoint now durable in the sink.
func (st *sinkState) noteCheckpoint(r *Record) {
	st.lastCheckpoint = Head{LogID: r.LogID, Seq: r.Seq, Hash: r.Hash, Time: r.Time.Round(0)}
	st.checkpointSeq.Store(r.Seq)
}

// appended is called once the sink has stored recs: it counts their
// checkpoints and notes the newest, which publish then hands to the
// witness.
func (l *Logger) appended(st *sinkState, recs []*Record) {
	var newest *Record
	n := int64(0)
	for _, r := range recs {
		if r.Kind == KindCheckpoint {
			newest = r
			n++
		}
	}
	if newest == nil {
		return
	}
	st.noteCheckpoint(newest)
	l.inst.checkpoints.Add(context.Background(), n)
}

// publish moves the sink's witness to its newest durable checkpoint. A
// failure is logged and counted, and the next checkpoint tries again: the
// witness may lag the log, never lead it.
func (l *Logger) publish(ctx context.Context, st *sinkState) {
	if st.witness == nil || st.lastCheckpoint.IsZero() || st.lastCheckpoint.Equal(st.witnessed) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	err := st.witness.Publish(ctx, st.witnessed, st.lastCheckpoint)
	if errors.Is(err, ErrWitnessConflict) && l.resync(ctx, st) {
		err = st.witness.Publish(ctx, st.witnessed, st.lastCheckpoint)
	}
	if err != nil {
		l.inst.witnessErrors.Add(ctx, 1)
		if l.cfg.Logger != nil {
			l.cfg.Logger.Error("audit: the witness did not take the newest checkpoint; retrying at the next one",
				"log", st.logID, "checkpoint_seq", st.lastCheckpoint.Seq, "witnessed_seq", st.witnessed.Seq, "err", err)
		}
		return
	}
	st.witnessed = st.lastCheckpoint
	st.witnessedSeq.Store(st.witnessed.Seq)
}

// resync handles a witness found holding another head than the writer
// expected. When that head is one of this log's own checkpoints between the
// last one known witnessed and the newest — a publish that succeeded
// although it reported an error — the writer adopts it and returns true.
// Anything else (another log, a head the log does not hold) is left for the
// operator: overwriting it would hide a second writer or an edited witness.
func (l *Logger) resync(ctx context.Context, st *sinkState) bool {
	head, err := st.witness.Head(ctx)
	if err != nil || head.LogID != st.logID || head.Seq < st.witnessed.Seq || head.Seq > st.lastCheckpoint.Seq {
		return false
	}
	src, ok := st.sink.(Source)
	if !ok {
		return false
	}
	hash, err := hashAt(ctx, src, head.Seq)
	if err != nil || hash != head.Hash {
		return false
	}
	st.witnessed = head
	return true
}
