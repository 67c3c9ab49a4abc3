package audit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Logger writes audit events to its sinks through one writer goroutine. It
// is safe for concurrent use. Close flushes, seals the log with a final
// checkpoint and stops the goroutine.
type Logger struct {
	cfg   Config
	red   *redactor
	keyID string
	inst  *instruments

	queue    chan *pending
	closeMu  sync.RWMutex // Log holds it shared while enqueueing; Close exclusively
	closed   bool
	stopping chan struct{} // closed first by Close: a retrying writer gives up
	stopOnce sync.Once
	closing  chan struct{} // closed once no Log can enqueue any more
	done     chan struct{}

	dropped atomic.Uint64 // events dropped by OnFull Drop, not yet recorded
	failing atomic.Bool   // a sink is failing (buffered mode retries)

	// Owned by the writer goroutine.
	sinks []*sinkState
	// opened is sinks once New has opened them all, for the metric
	// callback, which may run during New.
	opened    atomic.Pointer[[]*sinkState]
	closeErr  error
	peakBatch int           // recent largest batch, decaying
	lastWrite time.Duration // how long writing it took

	pendingPool sync.Pool
}

// pending is one event on its way to the writer.
type pending struct {
	event    Event
	payload  []byte
	timeText string
	done     chan error // durable mode: the writer's verdict
}

// sinkState is one sink's hash chain.
type sinkState struct {
	sink            Sink
	logID           string
	seq             uint64
	head            string
	sinceCheckpoint int
	missed          uint64 // events this sink failed to store, to record as a gap
	unsynced        bool
	recs            []*Record
	// needRotateCheckpoint is set when a new segment's opening checkpoint
	// could not be written: the next write starts with it.
	needRotateCheckpoint bool
	recoveredTail        bool // Open found a torn tail that openRecords discards

	witness        Witness    // nil: none
	witnessed      Head       // what the witness held when New checked it
	pub            *publisher // hands checkpoints to the witness (nil: none)
	lastCheckpoint Head       // the newest checkpoint durable in the sink
	checkpointSeq  atomic.Uint64
	witnessedSeq   atomic.Uint64
}

// chainPos is where a sink's chain stands: its last seq and hash, and the
// records since its last checkpoint.
type chainPos struct {
	seq             uint64
	head            string
	sinceCheckpoint int
}

// save returns where st's chain stands, to restore if the sink refuses the
// records made after it.
func (st *sinkState) save() chainPos {
	return chainPos{seq: st.seq, head: st.head, sinceCheckpoint: st.sinceCheckpoint}
}

// restore forgets the records made since m: the sink did not store them, so
// the next record must follow the last one it did.
func (st *sinkState) restore(m chainPos) {
	st.seq, st.head, st.sinceCheckpoint = m.seq, m.head, m.sinceCheckpoint
}

// Log records e. In Durable mode it returns nil only once e is persisted by
// the sinks Config.SinkPolicy requires; in Buffered mode once e is queued.
// It fails with ErrInvalidEvent for an event without Action or with an
// unknown Outcome, with ErrClosed after Close, and as Config.OnFull says when
// the queue is full. When ctx ends while Log waits it returns ctx.Err(); the
// event may or may not be recorded then.
func (l *Logger) Log(ctx context.Context, e Event) error {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return err // nothing recorded: the caller had already given up
	}
	if e.Action == "" {
		return fmt.Errorf("%w: Event.Action is empty", ErrInvalidEvent)
	}
	if !e.Outcome.valid() {
		return fmt.Errorf("%w: Event.Outcome must be success, failure or denied, got %q", ErrInvalidEvent, e.Outcome)
	}
	if e.Time.IsZero() {
		e.Time = start
	}
	if e.TraceID == "" {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			e.TraceID, e.SpanID = sc.TraceID().String(), sc.SpanID().String()
		}
	}
	l.red.event(&e)
	truncateEvent(&e, l.cfg.MaxFieldSize)
	payload, err := eventPayload(&e)
	if err != nil {
		return err
	}
	if len(payload) > l.cfg.MaxEventSize {
		return fmt.Errorf("%w: the encoded event is %d bytes with every field capped at %d, more than Config.MaxEventSize (%d)", ErrInvalidEvent, len(payload), l.cfg.MaxFieldSize, l.cfg.MaxEventSize)
	}
	p := l.pendingPool.Get().(*pending)
	p.event, p.payload, p.timeText = e, payload, formatTime(e.Time)

	if err := l.enqueue(ctx, p); err != nil || l.cfg.Mode == Buffered {
		if err != nil {
			l.release(p)
		}
		l.inst.logged(ctx, start, err)
		return err
	}
	select {
	case err := <-p.done:
		l.release(p)
		l.inst.logged(ctx, start, err)
		return err
	case <-ctx.Done():
		// p stays with the writer, which sends into its buffered channel
		// and forgets it; it is not returned to the pool.
		l.inst.logged(ctx, start, ctx.Err())
		return ctx.Err()
	}
}

func (l *Logger) release(p *pending) {
	p.event, p.payload = Event{}, nil
	l.pendingPool.Put(p)
}

func (l *Logger) enqueue(ctx context.Context, p *pending) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if l.cfg.OnFull == Fail && l.failing.Load() {
		return fmt.Errorf("%w: a sink is failing and Config.OnFull is Fail", ErrSink)
	}
	select {
	case l.queue <- p:
		return nil
	default:
	}
	switch l.cfg.OnFull {
	case Fail:
		return ErrQueueFull
	case Drop:
		l.dropped.Add(1)
		l.inst.drops.Add(ctx, 1)
		if l.cfg.Mode == Durable {
			p.done <- nil // a dropped event is reported by its gap record, not an error
		} else {
			l.release(p)
		}
		return nil
	}
	select {
	case l.queue <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events, writes everything queued, seals every sink
// with a final checkpoint ("close"), closes the sinks and stops the writer.
// It returns what could not be persisted. Calling it again returns nil.
func (l *Logger) Close() error {
	// A writer retrying a failing sink must give up first: a Log blocked
	// on the full queue holds closeMu shared until the writer moves on.
	l.stopOnce.Do(func() { close(l.stopping) })
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	l.closeMu.Unlock()
	close(l.closing)
	<-l.done
	for _, st := range l.sinks {
		if st.pub != nil {
			st.pub.close() // a last attempt to hand the close checkpoint over
		}
	}
	l.inst.unregister()
	return l.closeErr
}

func (l *Logger) run() {
	defer close(l.done)
	checkpoints := time.NewTicker(l.cfg.CheckpointInterval)
	defer checkpoints.Stop()
	var syncs <-chan time.Time
	if l.cfg.Mode == Buffered {
		t := time.NewTicker(l.cfg.SyncInterval)
		defer t.Stop()
		syncs = t.C
	}
	batch := make([]*pending, 0, l.cfg.MaxBatch)
	for {
		select {
		case p := <-l.queue:
			l.awaitCompanions()
			batch = l.collect(append(batch[:0], p))
			start := time.Now()
			l.write(batch)
			// The batch the writer waits for is a recent peak, decaying, so
			// that it tracks the number of concurrent callers rather than
			// settling on whatever the last wait happened to gather.
			l.peakBatch, l.lastWrite = max(len(batch), l.peakBatch-l.peakBatch/8), time.Since(start)
		case <-checkpoints.C:
			l.write(nil) // records pending gaps
			l.checkpointAll("interval", false)
		case <-syncs:
			l.syncAll()
		case <-l.closing:
			for {
				batch = l.collect(batch[:0])
				if len(batch) == 0 {
					break
				}
				l.write(batch)
			}
			l.write(nil)
			l.checkpointAll("close", true)
			for _, st := range l.sinks {
				if err := st.sink.Close(); err != nil {
					l.closeErr = errors.Join(l.closeErr, err)
				}
			}
			return
		}
	}
}

// awaitCompanions lets the callers the previous durable batches released
// enqueue their next events before the writer takes a new batch, as
// PostgreSQL's commit_delay does: under concurrency the batch, and so the
// events per fsync, grows. A lone caller (peakBatch 1) never waits. The wait
// ends when a recent peak batch's worth of events is queued, after half the
// previous write's duration (at most companionWait), or after
// companionYields yields, whichever comes first.
func (l *Logger) awaitCompanions() {
	if l.cfg.Mode != Durable || l.peakBatch < 2 {
		return
	}
	want := min(l.peakBatch, l.cfg.MaxBatch) - 1 // one is already taken
	deadline := time.Now().Add(min(l.lastWrite/2, companionWait))
	for i := 0; i < companionYields && len(l.queue) < want && time.Now().Before(deadline); i++ {
		runtime.Gosched()
	}
}

// Bounds of awaitCompanions' wait.
const (
	// companionYields caps the yields, so that a wait ends even where the
	// clock is coarse.
	companionYields = 10_000
	// companionWait caps the time: a batch never waits longer than this for
	// companions, whatever the previous write took.
	companionWait = time.Millisecond
)

// collect adds whatever is queued, up to MaxBatch: events that arrived
// during the previous write share the next one (group commit).
func (l *Logger) collect(batch []*pending) []*pending {
	for len(batch) < l.cfg.MaxBatch {
		select {
		case p := <-l.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

func (l *Logger) nextRecord(st *sinkState, kind Kind, t time.Time) *Record {
	return &Record{Seq: st.seq + 1, Kind: kind, Time: t, LogID: st.logID, Prev: st.head}
}

func (l *Logger) advance(st *sinkState, r *Record) {
	st.seq, st.head = r.Seq, r.Hash
	if r.Kind == KindCheckpoint {
		st.sinceCheckpoint = 0
	} else {
		st.sinceCheckpoint++
	}
}

func (l *Logger) checkpointRecord(st *sinkState, reason string, t time.Time) *Record {
	r := l.nextRecord(st, KindCheckpoint, t)
	timeText := formatTime(t)
	r.Checkpoint = signCheckpoint(l.cfg.SigningKey, l.keyID, st.logID, r.Seq, r.Prev, reason, timeText)
	seal(r, timeText, kindPayload("checkpoint", r.Checkpoint))
	l.advance(st, r)
	return r
}

func (l *Logger) gapRecords(recs []*Record, st *sinkState, dropped uint64, cause string, t time.Time) []*Record {
	r := l.nextRecord(st, KindGap, t)
	r.Gap = &Gap{Dropped: dropped, Cause: cause}
	seal(r, formatTime(t), kindPayload("gap", r.Gap))
	l.advance(st, r)
	return append(recs, r, l.checkpointRecord(st, "gap", t))
}

// write persists batch (possibly empty: then only pending gap records) to
// every sink and answers the durable callers.
func (l *Logger) write(batch []*pending) {
	ctx := context.Background()
	now := time.Now()
	dropped := l.dropped.Swap(0)
	if len(batch) == 0 && dropped == 0 && !l.anyMissed() {
		return
	}
	var span trace.Span
	if len(batch) > 0 {
		ctx, span = l.inst.tracer.Start(ctx, "audit.write")
		defer span.End()
	}
	durable := l.cfg.Mode == Durable
	succeeded := 0
	var firstErr error
	for _, st := range l.sinks {
		saved := st.save()
		recs := st.recs[:0]
		if st.needRotateCheckpoint {
			recs = append(recs, l.checkpointRecord(st, "rotate", now))
		}
		if dropped > 0 {
			recs = l.gapRecords(recs, st, dropped, "queue_full", now)
		}
		if st.missed > 0 {
			recs = l.gapRecords(recs, st, st.missed, "sink_failure", now)
		}
		for _, p := range batch {
			r := l.nextRecord(st, KindEvent, p.event.Time)
			r.Event = &p.event
			seal(r, p.timeText, p.payload)
			l.advance(st, r)
			recs = append(recs, r)
		}
		if st.sinceCheckpoint >= l.cfg.CheckpointEvery {
			recs = append(recs, l.checkpointRecord(st, "count", now))
		}
		// A checkpoint is made durable before it is noted, in buffered
		// mode too: the witness must never hold one the disk could lose.
		sync := durable || containsCheckpoint(recs)
		err := st.sink.Append(ctx, recs, sync)
		if err != nil && !durable && l.cfg.OnFull != Drop {
			err = l.retry(ctx, st, recs, sync, err)
		}
		if err == nil {
			st.needRotateCheckpoint = false
			l.appended(st, recs)
		}
		clear(recs)
		st.recs = recs[:0]
		if err != nil {
			st.restore(saved)
			st.missed += uint64(len(batch))
			if dropped > 0 {
				st.missed += dropped
			}
			l.inst.sinkErrors.Add(ctx, 1)
			l.cfg.Logger.Error("audit: sink failed to store a batch", "events", len(batch), "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		st.missed = 0
		st.unsynced = !sync
		succeeded++
		l.rotateIfDue(ctx, st, now)
	}
	var err error
	if (l.cfg.SinkPolicy == AllSinks && firstErr != nil) || succeeded == 0 {
		err = fmt.Errorf("%w: %w", ErrSink, firstErr)
		if !durable && len(batch) > 0 {
			l.closeErr = errors.Join(l.closeErr, fmt.Errorf("audit: %d buffered events were not persisted: %w", len(batch), firstErr))
		}
	}
	if span != nil {
		l.inst.batchSize.Record(ctx, int64(len(batch)))
	}
	if err == nil && l.cfg.Observer != nil {
		for _, p := range batch {
			l.cfg.Observer.Observe(p.event)
		}
	}
	for _, p := range batch {
		if durable {
			p.done <- err // the caller returns p to the pool
		} else {
			l.release(p) // no one else holds a buffered event
		}
	}
}

func (l *Logger) anyMissed() bool {
	for _, st := range l.sinks {
		if st.missed > 0 {
			return true
		}
	}
	return false
}

// retry keeps trying a buffered batch that a sink refused: the events were
// acknowledged at enqueue and must not be lost. Meanwhile the queue fills up
// and Config.OnFull applies (Fail fails at once). It gives up at Close.
func (l *Logger) retry(ctx context.Context, st *sinkState, recs []*Record, sync bool, err error) error {
	l.failing.Store(true)
	defer l.failing.Store(false)
	wait := 10 * time.Millisecond
	for {
		l.cfg.Logger.Error("audit: sink failed; retrying the buffered batch", "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.stopping:
			t.Stop()
			return st.sink.Append(ctx, recs, sync) // a last attempt
		}
		if err = st.sink.Append(ctx, recs, sync); err == nil {
			return nil
		}
		wait = min(2*wait, time.Second)
	}
}

func (l *Logger) rotateIfDue(ctx context.Context, st *sinkState, now time.Time) {
	r, ok := st.sink.(RotatingSink)
	if !ok || !r.RotationDue(now) {
		return
	}
	if err := r.Rotate(st.seq + 1); err != nil {
		l.cfg.Logger.Error("audit: segment rotation failed", "err", err)
		return
	}
	saved := st.save()
	cp := l.checkpointRecord(st, "rotate", now)
	if err := st.sink.Append(ctx, []*Record{cp}, true); err != nil {
		st.restore(saved)
		// The next write starts with it: a segment must open with a signed
		// checkpoint to be verifiable once retention removes the ones before.
		st.needRotateCheckpoint = true
		l.cfg.Logger.Error("audit: writing the checkpoint that opens a segment failed", "err", err)
		return
	}
	st.unsynced = false
	l.appended(st, []*Record{cp})
	if err := r.Retain(now); err != nil {
		l.cfg.Logger.Error("audit: retention failed", "err", err)
	}
}

// checkpointAll signs the head of every sink that has records since its
// last checkpoint (every sink when force is set) and makes it durable. A
// segment whose opening checkpoint failed gets it first ("rotate"): a
// retained log must start with one.
func (l *Logger) checkpointAll(reason string, force bool) {
	ctx := context.Background()
	now := time.Now()
	for _, st := range l.sinks {
		if !force && st.sinceCheckpoint == 0 && !st.needRotateCheckpoint {
			continue
		}
		saved := st.save()
		var recs []*Record
		if st.needRotateCheckpoint {
			recs = append(recs, l.checkpointRecord(st, "rotate", now))
		}
		if force || st.sinceCheckpoint > 0 {
			recs = append(recs, l.checkpointRecord(st, reason, now))
		}
		if err := st.sink.Append(ctx, recs, true); err != nil {
			st.restore(saved)
			err = fmt.Errorf("audit: %s checkpoint: %w", reason, err)
			if force {
				l.closeErr = errors.Join(l.closeErr, err)
			}
			l.cfg.Logger.Error("audit: checkpoint failed", "reason", reason, "err", err)
			continue
		}
		st.unsynced = false
		st.needRotateCheckpoint = false
		l.appended(st, recs)
	}
}

// syncAll fsyncs sinks written in buffered mode since their last sync.
func (l *Logger) syncAll() {
	for _, st := range l.sinks {
		if !st.unsynced {
			continue
		}
		if s, ok := st.sink.(Syncer); ok {
			if err := s.Sync(); err != nil {
				l.cfg.Logger.Error("audit: sync failed", "err", err)
				continue
			}
		}
		st.unsynced = false
	}
}
