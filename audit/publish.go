package audit

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// witnessTimeout bounds one witness call.
const witnessTimeout = 10 * time.Second

// Bounds of the publisher's retries of a witness that failed.
const (
	publishBackoff    = time.Second
	publishMaxBackoff = time.Minute
)

// noteCheckpoint records r, a checkpoint now durable in the sink.
func (st *sinkState) noteCheckpoint(r *Record) {
	st.lastCheckpoint = Head{LogID: r.LogID, Seq: r.Seq, Hash: r.Hash, Time: r.Time.Round(0)}
	st.checkpointSeq.Store(r.Seq)
}

// appended is called once the sink has stored recs durably: it counts
// their checkpoints, notes the newest and offers it to the witness.
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
	if st.pub != nil {
		st.pub.offer(st.lastCheckpoint)
	}
}

// containsCheckpoint reports whether recs hold a checkpoint: a batch that
// does is made durable before it is noted, so that the witness never holds a
// checkpoint the disk could lose.
func containsCheckpoint(recs []*Record) bool {
	for _, r := range recs {
		if r.Kind == KindCheckpoint {
			return true
		}
	}
	return false
}

// publisher hands one log's newest durable checkpoint to its witness on a
// goroutine of its own, so that a slow, failing or hung witness delays no
// writer and no caller of Log. It always publishes the newest head (older
// ones it missed do not matter: the witness keeps only the newest), retries
// a failure when a newer checkpoint arrives or after a backoff (1 s doubling
// to a minute), and makes a last attempt at Close.
type publisher struct {
	l       *Logger
	witness Witness
	logID   string
	src     Source // the sink, read back by resync
	seq     *atomic.Uint64

	latest    atomic.Pointer[Head] // set by the writer
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	witnessed Head // what the witness holds, as far as the publisher knows
}

func newPublisher(l *Logger, st *sinkState) *publisher {
	src, _ := st.sink.(Source)
	return &publisher{l: l, witness: st.witness, logID: st.logID, src: src, seq: &st.witnessedSeq, witnessed: st.witnessed,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// offer makes h the head to publish next.
func (p *publisher) offer(h Head) {
	p.latest.Store(&h)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *publisher) run() {
	defer close(p.done)
	backoff := publishBackoff
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-p.wake:
		case <-retry.C:
		case <-p.stop:
			p.attempt() // the close checkpoint
			return
		}
		if p.attempt() {
			backoff = publishBackoff
			retry.Stop()
			continue
		}
		retry.Reset(backoff)
		backoff = min(2*backoff, publishMaxBackoff)
	}
}

// close makes the last attempt and stops the goroutine.
func (p *publisher) close() {
	close(p.stop)
	<-p.done
}

// attempt publishes the newest head unless the witness has it; it reports
// whether the witness is now up to date.
func (p *publisher) attempt() bool {
	h := p.latest.Load()
	if h == nil || h.Equal(p.witnessed) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), witnessTimeout)
	defer cancel()
	err := p.witness.Publish(ctx, p.witnessed, *h)
	if errors.Is(err, ErrWitnessConflict) && p.resync(ctx, *h) {
		if p.witnessed.Equal(*h) {
			err = nil
		} else {
			err = p.witness.Publish(ctx, p.witnessed, *h)
		}
	}
	if err != nil {
		p.l.inst.witnessErrors.Add(ctx, 1)
		p.l.cfg.Logger.Error("audit: the witness did not take the newest checkpoint; retrying",
			"log", p.logID, "checkpoint_seq", h.Seq, "witnessed_seq", p.witnessed.Seq, "err", err)
		return false
	}
	p.witnessed = *h
	p.seq.Store(h.Seq)
	return true
}

// resync handles a witness found holding another head than expected. When
// that head is one of this log's own checkpoints between the one last known
// witnessed and the newest — a publish that succeeded although it reported
// an error — the publisher adopts it and returns true. Anything else
// (another log, a head the log does not hold) is left for the operator:
// overwriting it would hide a second writer or an edited witness.
func (p *publisher) resync(ctx context.Context, newest Head) bool {
	head, err := p.witness.Head(ctx)
	if err != nil || p.src == nil || head.LogID != p.logID || head.Seq < p.witnessed.Seq || head.Seq > newest.Seq {
		return false
	}
	hash, _, err := hashAt(ctx, p.src, head.Seq)
	if err != nil || hash != head.Hash {
		return false
	}
	p.witnessed = head
	p.seq.Store(head.Seq)
	return true
}
