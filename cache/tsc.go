package cache

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Lookups of entries with a TTL need the time, and reading the OS's
// monotonic clock (the vDSO's clock_gettime, about 27 ns here, with a
// fence that stalls the lookup's memory loads behind it) cost about half
// of a parallel hit. Where the CPU's time-stamp counter is usable (see
// tscUsable) a lookup reads the counter instead and converts ticks to
// nanoseconds from an anchor its clock took (clock.go). It trusts that
// time only to say an entry is live, and only when the entry expires (or
// is due a refresh) more than tscGuard later; every other lookup decides
// by the OS clock. So the counter changes no decision as long as
// converted time lags the OS clock by less than tscGuard, which these
// rules keep far from:
//
//   - The rate, nanoseconds per tick, is measured once per process over two
//     consecutive spans of tscCalibrationSpan to tscCalibrationMaxSpan
//     that agree within 1 % (a span in which the machine was suspended,
//     and the OS clock stood while the counter ran, disagrees).
//   - An anchor serves for tscWindow (in ticks) and pairs a clock reading
//     with the middle of two counter readings at most
//     window/tscBracketDivisor apart (the goroutine was not descheduled
//     between them); ticks before the anchor (another CPU's counter
//     behind this one's) never match it.
//   - So within a window converted time strays from the clock's by the
//     rate's error over a window: the calibration's 1 % plus the change in
//     the OS's own correction of its clock's rate since the calibration
//     (NTP daemons slew it by up to 10 % either way, chrony with
//     ADJ_TICK: from +10 % to -10 % is 1.1/0.9, 22 %), under 0.25 ms, and
//     half a bracket (1 µs). The lag would reach tscGuard only if the
//     counter ran at under a third of the calibrated rate.
//   - Each new anchor is checked against the clock's last (tscCheck): a
//     clock that went backwards (fake time: a synctest bubble starts in
//     2000) or ran ahead of the counter by more than a quarter (fake
//     time jumping, or a counter that changed its rate) turns the counter
//     off for that clock; the third counter found behind turns it off for
//     the process, as does the kernel leaving the counter as its clock
//     source (checked once a second, one pread). A counter behind the
//     last anchor's (another CPU's, or one restarted by a resume) makes a
//     new anchor as a first one does.
//   - A clock made in a synctest bubble, or anchored first in one, never
//     uses the counter (timeMoves). One made outside and used in a bubble
//     stops at its first anchor there, as the bubble's time (2000) is
//     before the real one; on a machine whose clock reads earlier than
//     2000 it would serve hits by real time for up to one window first.
const (
	tscGuard              = 2 * time.Millisecond
	tscWindow             = time.Millisecond
	tscBracketDivisor     = 512 // a pair's counter readings lie at most tscWindow/tscBracketDivisor apart (about 2 µs)
	tscCalibrationSpan    = 10 * time.Millisecond
	tscCalibrationMaxSpan = time.Second
	tscRateAgreement      = 100 // two spans' rates agree within 1/tscRateAgreement
	tscBehindTolerance    = 4   // a counter behind the clock by more than 1/tscBehindTolerance of the time between anchors is off
	tscMaxMismatches      = 3   // counters found behind before the process stops using it
	tscMaxAttempts        = 20  // calibration spans that may fail before the process stops trying
	tscSourceRecheck      = time.Second
	// tscPairTicks bounds a calibration pair's two counter readings
	// before the rate is known: 10 µs at 1 GHz.
	tscPairTicks = 10_000
)

// tscBase is the process's origin for the calibration's readings (every
// clock's base is converted to it).
var tscBase = time.Now()

// tscState is where the process's calibration of the counter stands.
type tscState int

const (
	tscPending tscState = iota // not calibrated yet: lookups read the OS clock
	tscReady                   // calibrated
	tscOff                     // not to be used again in this process
)

// tscCalibrator measures the counter's rate against the OS clock, once
// per process (tsc), from the pairs of readings lookups offer.
type tscCalibrator struct {
	// rate (nanoseconds per tick times 2^32) is 0 until calibrated;
	// window (ticks per tscWindow) is stored before it.
	rate       atomic.Uint64
	window     atomic.Uint64
	disabled   atomic.Bool
	mismatches atomic.Int32
	// sourceChecked is when (nanoseconds since tscBase) the kernel's
	// clock source was last checked.
	sourceChecked atomic.Int64
	stillSource   func() bool

	// nextOffer is the earliest clock reading (nanoseconds since
	// tscBase) at which a pair can advance the calibration, so that
	// lookups before it take no lock.
	nextOffer atomic.Int64

	mu       sync.Mutex // TryLock only: a lookup never waits for it
	stage    int        // pairs held: 0, 1 (first), 2 (first, second and the first span's rate)
	first    tscPoint
	second   tscPoint
	rate1    uint64
	attempts int
}

// tscPoint is a pair of readings: the counter's and the clock's, in
// nanoseconds since tscBase.
type tscPoint struct {
	ticks uint64
	nanos int64
}

var tsc = &tscCalibrator{stillSource: tscStillSource}

func (c *tscCalibrator) state() tscState {
	switch {
	case c.disabled.Load():
		return tscOff
	case c.rate.Load() != 0:
		return tscReady
	}
	return tscPending
}

// offer hands the calibrator a pair of readings (counter before and
// after, clock between them, in nanoseconds since tscBase) and returns the
// rate and window once calibrated.
func (c *tscCalibrator) offer(before, after uint64, nanos int64) (rate, window uint64, state tscState) {
	if c.disabled.Load() {
		return 0, 0, tscOff
	}
	if rate := c.rate.Load(); rate != 0 {
		if checked := c.sourceChecked.Load(); nanos-checked >= int64(tscSourceRecheck) &&
			c.sourceChecked.CompareAndSwap(checked, nanos) && !c.stillSource() {
			c.disabled.Store(true)
			return 0, 0, tscOff
		}
		return rate, c.window.Load(), tscReady
	}
	if after < before || after-before >= tscPairTicks || nanos < c.nextOffer.Load() || !c.mu.TryLock() {
		return 0, 0, c.state()
	}
	defer c.mu.Unlock()
	if c.rate.Load() == 0 && !c.disabled.Load() {
		c.advance(tscPoint{before + (after-before)/2, nanos})
		switch c.stage {
		case 1:
			c.nextOffer.Store(c.first.nanos + int64(tscCalibrationSpan))
		case 2:
			c.nextOffer.Store(c.second.nanos + int64(tscCalibrationSpan))
		}
	}
	return c.rate.Load(), c.window.Load(), c.state()
}

// advance takes a pair into the calibration. Lock held. A span over
// tscCalibrationMaxSpan (lookups were sparse) restarts it from the pair;
// a span whose rate is refused, or that disagrees with the one before,
// counts as a failed attempt, and tscMaxAttempts of them turn the counter
// off for the process.
func (c *tscCalibrator) advance(p tscPoint) {
	failed := func() {
		if c.attempts++; c.attempts >= tscMaxAttempts {
			c.disabled.Store(true)
		}
	}
	switch c.stage {
	case 0:
		c.first, c.stage = p, 1
	case 1:
		span := p.nanos - c.first.nanos
		switch {
		case span < int64(tscCalibrationSpan):
			return
		case span > int64(tscCalibrationMaxSpan):
			c.first = p
			return
		}
		rate, ok := tscRate(c.first, p)
		if !ok {
			c.first = p
			failed()
			return
		}
		c.second, c.rate1, c.stage = p, rate, 2
	case 2:
		span := p.nanos - c.second.nanos
		switch {
		case span < int64(tscCalibrationSpan):
			return
		case span > int64(tscCalibrationMaxSpan):
			c.first, c.stage = p, 1
			return
		}
		rate, ok := tscRate(c.second, p)
		if !ok {
			c.first, c.stage = p, 1
			failed()
			return
		}
		if diff := max(rate, c.rate1) - min(rate, c.rate1); diff > c.rate1/tscRateAgreement {
			// Slide: the second span becomes the first.
			c.first, c.second, c.rate1 = c.second, p, rate
			failed()
			return
		}
		overall, _ := tscRate(c.first, p)
		c.window.Store(tscWindowTicks(overall))
		c.rate.Store(overall)
	}
}

// mismatch counts a counter found behind the clock, and stops the process
// using it at the tscMaxMismatches-th.
func (c *tscCalibrator) mismatch() {
	if c.mismatches.Add(1) >= tscMaxMismatches {
		c.disabled.Store(true)
	}
}

// tscRate is the rate between two pairs of readings, nanoseconds per tick
// times 2^32, rounded down. It refuses a counter or clock that went
// backwards or stood still, and a frequency outside 100 MHz to 100 GHz.
func tscRate(from, to tscPoint) (uint64, bool) {
	if to.ticks <= from.ticks || to.nanos <= from.nanos {
		return 0, false
	}
	dTicks, dNanos := to.ticks-from.ticks, uint64(to.nanos-from.nanos)
	if dNanos>>32 >= dTicks { // 2^32 ns or more per tick
		return 0, false
	}
	rate, _ := bits.Div64(dNanos>>32, dNanos<<32, dTicks)
	const (
		slowest = 10 << 32        // ns per tick at 100 MHz, times 2^32
		fastest = (1 << 32) / 100 // at 100 GHz
	)
	if rate > slowest || rate < fastest {
		return 0, false
	}
	return rate, true
}

// tscWindowTicks is tscWindow in ticks at rate (at least fastest, so the
// quotient fits).
func tscWindowTicks(rate uint64) uint64 {
	window, _ := bits.Div64(uint64(tscWindow)>>32, uint64(tscWindow)<<32, rate)
	return window
}

// tscVerdict is tscCheck's answer.
type tscVerdict int

const (
	counterAgrees    tscVerdict = iota
	counterBackwards            // the new pair's ticks are before the anchor's
	clockBackwards              // the new pair's clock reading is before the anchor's
	counterBehind               // converted ticks fell behind the clock
)

// tscCheck compares a new pair (clock t, counter ticks, its two readings
// bracket ticks apart) with the previous anchor (nanos, anchorTicks):
// converted from the anchor, the new pair's ticks must not fall behind t
// by more than a quarter of the time between them, plus the bracket and a
// microsecond.
func tscCheck(nanos int64, anchorTicks, rate uint64, t int64, ticks, bracket uint64) tscVerdict {
	switch {
	case ticks < anchorTicks:
		return counterBackwards
	case t < nanos:
		return clockBackwards
	}
	predicted := nanos + int64(mulShift32(ticks-anchorTicks, rate))
	slack := (t-nanos)/tscBehindTolerance + int64(mulShift32(bracket, rate)) + int64(time.Microsecond)
	if predicted < t-slack {
		return counterBehind
	}
	return counterAgrees
}

// mulShift32 is a*b/2^32 for any a, b whose quotient fits 64 bits,
// rounded down.
func mulShift32(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi<<32 | lo>>32
}

// timeMoves reports whether the clock advances while the caller runs: not
// in a synctest bubble, whose fake clock stands still until every
// goroutine in it blocks. Outside one it returns at the first reading
// that differs (nanoseconds apart); in one it gives up after 5 000 ticks
// (about 2 µs), or 100 000 readings where the counter does not tick.
func timeMoves() bool {
	start := time.Now()
	from := readTicks()
	for i := 0; i < 100_000 && readTicks()-from < 5_000; i++ {
		if time.Since(start) != 0 {
			return true
		}
	}
	return false
}
