package breaker

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Breaker is a circuit breaker. It is safe for concurrent use and starts no
// goroutine.
type Breaker struct {
	// word is the fast path's view: state, consecutive failures, generation.
	// It is written only with mu held, except for the lock-free
	// consecutive-failure counting of the closed state (compare-and-swap).
	word atomic.Uint64
	// openUntil is the end of the current break in Unix nanoseconds (Open only).
	openUntil atomic.Int64

	name          string
	consecutive   uint64 // 0: off
	failureRate   float64
	slowRate      float64
	slowThreshold time.Duration
	minCalls      int
	openDuration  time.Duration
	breakDuration func(int) time.Duration
	maxProbes     int
	probesToClose int
	classify      Classifier
	listeners     []func(StateChange)
	logger        *slog.Logger
	metrics       *instruments
	// windowed: a rate condition is set, so closed-state outcomes also go
	// into the current generation's window.
	windowed       bool
	windowSize     int
	windowDuration time.Duration
	win            atomic.Pointer[generationWindow]
	// timed: outcomes need a start time (slow calls) or an end time (time window).
	timed bool

	// mu serialises state changes, half-open probe accounting and delivery.
	mu             sync.Mutex
	openCount      int
	probes         int // probes in flight (HalfOpen)
	probeSuccesses int
	pending        []StateChange // changes not yet delivered to listeners, in order
	delivering     bool
}

// New returns a closed Breaker, or an error naming the first invalid Config field.
func New(cfg Config) (*Breaker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Breaker{
		name:           cfg.Name,
		consecutive:    uint64(cfg.ConsecutiveFailures),
		failureRate:    cfg.FailureRate,
		slowRate:       cfg.SlowCallRate,
		slowThreshold:  cfg.SlowCallDuration,
		minCalls:       cfg.MinimumCalls,
		openDuration:   cfg.OpenDuration,
		breakDuration:  cfg.BreakDuration,
		maxProbes:      cfg.HalfOpenProbes,
		probesToClose:  cfg.HalfOpenSuccesses,
		classify:       cfg.Classifier,
		listeners:      slices.Clone(cfg.OnStateChange),
		logger:         orDiscard(cfg.Logger),
		windowed:       cfg.windowed(),
		windowSize:     cfg.WindowSize,
		windowDuration: cfg.WindowDuration,
	}
	b.timed = b.slowRate > 0 || (b.windowed && cfg.WindowDuration > 0)
	if b.metrics, err = newInstruments(cfg.MeterProvider, b.name); err != nil {
		return nil, err
	}
	b.metrics.unregisterWhenCollected(b)
	b.word.Store(makeWord(0, 0, Closed))
	b.newWindow(0)
	return b, nil
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// State returns the current state. An Open breaker whose break has ended
// reports Open until a call arrives and moves it to HalfOpen.
func (b *Breaker) State() State { return stateOf(b.word.Load()) }

// Healthy reports whether the breaker lets every call through: Closed, or
// Disabled by an operator. Open, HalfOpen and ForcedOpen are not healthy.
// Policies that add load to a dependency only while it is healthy (Keel's
// hedge package sends no hedged request otherwise) call it, without
// importing this package. It is one atomic load.
func (b *Breaker) Healthy() bool {
	s := stateOf(b.word.Load())
	return s == Closed || s == Disabled
}

// permit is what an admitted call carries to its completion.
type permit struct {
	gen   uint32
	state State // Closed, HalfOpen or Disabled
	start time.Time
}

// allow admits a call or returns an *OpenError.
func (b *Breaker) allow() (permit, error) {
	w := b.word.Load()
	switch stateOf(w) {
	case Closed, Disabled:
		p := permit{gen: genOf(w), state: stateOf(w)}
		if b.timed {
			p.start = time.Now()
		}
		return p, nil
	case Open:
		now := time.Now()
		if until := b.openUntil.Load(); now.UnixNano() < until {
			return permit{}, b.reject(Open, time.Unix(0, until))
		}
	case ForcedOpen:
		return permit{}, b.reject(ForcedOpen, time.Time{})
	}
	return b.allowSlow()
}

// allowSlow handles Open (break over) and HalfOpen under the lock.
func (b *Breaker) allowSlow() (permit, error) {
	b.mu.Lock()
	now := time.Now()
	w := b.word.Load()
	changed := false
	switch stateOf(w) {
	case Closed, Disabled:
		b.mu.Unlock()
		return permit{gen: genOf(w), state: stateOf(w), start: now}, nil
	case ForcedOpen:
		b.mu.Unlock()
		return permit{}, b.reject(ForcedOpen, time.Time{})
	case Open:
		if until := b.openUntil.Load(); now.UnixNano() < until {
			b.mu.Unlock()
			return permit{}, b.reject(Open, time.Unix(0, until))
		}
		b.transition(HalfOpen, now)
		changed = true
		w = b.word.Load()
	}
	// HalfOpen
	if b.probes >= b.maxProbes {
		b.mu.Unlock()
		b.deliverIf(changed)
		return permit{}, b.reject(HalfOpen, now)
	}
	b.probes++
	b.mu.Unlock()
	b.deliverIf(changed)
	return permit{gen: genOf(w), state: HalfOpen, start: now}, nil
}

func (b *Breaker) reject(s State, retryAt time.Time) error {
	b.metrics.rejected(s)
	return &OpenError{Name: b.name, State: s, RetryAt: retryAt}
}

// done records a finished call's outcome.
func (b *Breaker) done(p permit, err error) {
	if p.state == Disabled {
		return
	}
	outcome := b.classify(err)
	b.metrics.outcome(outcome)
	var now time.Time
	slow := false
	if b.timed {
		now = time.Now()
		slow = b.slowRate > 0 && now.Sub(p.start) > b.slowThreshold
		if slow {
			b.metrics.slowCall()
		}
	}
	if p.state == Closed {
		if outcome == Ignored {
			return
		}
		if b.consecutive > 0 && b.countConsecutive(p.gen, outcome) {
			return
		}
		if b.windowed {
			b.recordWindow(p.gen, outcome == Failure, slow, now)
		}
		return
	}
	b.mu.Lock()
	changed := false
	if genOf(b.word.Load()) == p.gen { // else the state changed since the probe began
		changed = b.probeDone(outcome, slow, now)
	}
	b.mu.Unlock()
	b.deliverIf(changed)
}

// countConsecutive counts consecutive failures in the closed state, lock-free:
// the count lives in the state word, so a stale generation is detected by the
// same compare-and-swap that updates it. It reports whether it opened the
// breaker (or found it changed), in which case the outcome is spent.
func (b *Breaker) countConsecutive(gen uint32, outcome Outcome) bool {
	for {
		w := b.word.Load()
		if genOf(w) != gen {
			return true
		}
		var next uint64
		switch outcome {
		case Success:
			if consecOf(w) == 0 {
				return false // the common case: nothing to write, no cache-line contention
			}
			next = makeWord(gen, 0, Closed)
		case Failure:
			next = makeWord(gen, consecOf(w)+1, Closed)
		default:
			return false
		}
		if !b.word.CompareAndSwap(w, next) {
			continue
		}
		if outcome == Failure && consecOf(next) >= b.consecutive {
			b.tripFrom(gen)
			return true
		}
		return false
	}
}

// recordWindow adds a closed-state outcome to its generation's window and
// opens the breaker when a rate condition holds.
func (b *Breaker) recordWindow(gen uint32, failed, slow bool, now time.Time) {
	w := b.win.Load()
	if w.gen != gen {
		return
	}
	calls, failures, slows := w.add(now, failed, slow)
	if calls >= b.minCalls &&
		((b.failureRate > 0 && float64(failures) >= b.failureRate*float64(calls)) ||
			(b.slowRate > 0 && float64(slows) >= b.slowRate*float64(calls))) {
		b.tripFrom(gen)
	}
}

// newWindow installs an empty window for closed generation gen.
func (b *Breaker) newWindow(gen uint32) {
	if !b.windowed {
		return
	}
	var w window
	if b.windowDuration > 0 {
		w = newTimeWindow(b.windowDuration)
	} else {
		w = newCountWindow(b.windowSize)
	}
	b.win.Store(&generationWindow{gen: gen, window: w})
}

// tripFrom opens the breaker if it is still in generation gen.
func (b *Breaker) tripFrom(gen uint32) {
	b.mu.Lock()
	changed := false
	if w := b.word.Load(); genOf(w) == gen && stateOf(w) == Closed {
		b.transition(Open, time.Now())
		changed = true
	}
	b.mu.Unlock()
	b.deliverIf(changed)
}

// probeDone records a half-open probe's outcome. Called with mu held.
func (b *Breaker) probeDone(outcome Outcome, slow bool, now time.Time) bool {
	b.probes--
	if now.IsZero() {
		now = time.Now()
	}
	switch {
	case outcome == Ignored:
		return false
	case outcome == Failure || slow:
		b.transition(Open, now)
		return true
	}
	b.probeSuccesses++
	if b.probeSuccesses >= b.probesToClose {
		b.transition(Closed, now)
		return true
	}
	return false
}

// transition moves to state to, starting a new generation. Called with mu held.
func (b *Breaker) transition(to State, now time.Time) {
	w := b.word.Load()
	from := stateOf(w)
	switch to {
	case Open:
		b.openCount++
		d := b.openDuration
		if b.breakDuration != nil {
			d = b.breakDuration(b.openCount)
		}
		b.openUntil.Store(now.Add(max(d, 0)).UnixNano())
	case Closed, Disabled:
		b.openCount = 0
	}
	b.probes, b.probeSuccesses = 0, 0
	gen := genOf(w) + 1
	if to == Closed {
		b.newWindow(gen)
	}
	b.word.Store(makeWord(gen, 0, to))
	b.pending = append(b.pending, StateChange{Name: b.name, From: from, To: to, At: now, OpenCount: b.openCount})
}

// force moves to state to unless the breaker is already there.
func (b *Breaker) force(to State) {
	b.mu.Lock()
	changed := stateOf(b.word.Load()) != to
	if changed {
		b.transition(to, time.Now())
	}
	b.mu.Unlock()
	b.deliverIf(changed)
}

// Open forces the breaker open: every call is rejected until Reset or Disable.
// Use it to isolate a dependency by hand.
func (b *Breaker) Open() { b.force(ForcedOpen) }

// Reset returns the breaker to Closed and clears its counts, whatever its
// state: the operator's "the dependency is fine again". It frees nothing; a
// Breaker holds no resources and needs no cleanup.
func (b *Breaker) Reset() { b.force(Closed) }

// Close is Reset: it forces the breaker to the Closed state.
//
// Deprecated: Close does not free resources as Close does elsewhere (io.Closer,
// the other Keel packages), and a deferred b.Close() would silently reset the
// breaker; call Reset.
func (b *Breaker) Close() { b.Reset() }

// Disable lets every call through and counts nothing until Reset or Open.
func (b *Breaker) Disable() { b.force(Disabled) }

// orDiscard is the Logger a nil Config.Logger stands for: one that discards,
// set once here so that no call site tests for nil (docs/CONVENTIONS.md).
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
