package cache

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// clock is the cache's time: nanoseconds on the monotonic clock since the
// cache was created, plus one so that 0 can mean "never expires". The
// monotonic clock is immune to wall-clock steps, and testing/synctest
// drives it.
//
// Every check of an expiry reads the time afresh, lookups included. An
// earlier version let lookups share a coarse reading that a timer aged
// after a millisecond; when every P was busy the Go scheduler ran that
// timer late and expired entries were served up to hundreds of
// milliseconds past their TTL (issue #23). No in-process signal bounds how
// old a shared reading is when the scheduler (or the OS) delays the code
// that would refresh it, so a lookup must measure the time itself.
//
// Writes read the OS's monotonic clock (time.Since). A lookup does too,
// except where the CPU's time-stamp counter can stand in for it (see
// tsc.go): there it reads the counter, about a third of the cost and,
// unlike the OS clock's read, not a barrier to the lookup's memory loads
// around it, and converts the ticks since an anchor, a pair of an OS
// clock reading and a counter reading, to nanoseconds. The conversion
// rounds up (see tscRate), so a lookup's time is never before the true
// time and an expired entry is never served; an entry may read as absent
// up to tscEarlyBound before its expiry. An anchor serves for
// tscWindow of ticks; the lookup after that takes a new one. Entries
// without a TTL read no time.
type clock struct {
	base time.Time
	// baseNanos is base on the process's monotonic scale (tscBase), for
	// the counter's calibration, which all clocks share.
	baseNanos int64
	// counter: lookups may use the time-stamp counter (it is usable on
	// this machine and the clock was not made in a synctest bubble,
	// whose fake time the counter does not follow).
	counter bool
	// The anchor, written under a sequence lock: seq is odd while a
	// writer changes the fields, and a reader that sees seq change
	// discards what it read. rate is 0 until the counter is calibrated,
	// which makes every tick count fall outside the window. Every lookup
	// reads these five words and a new anchor writes them once per
	// tscWindow, so they have cache lines of their own: a neighbour
	// written often would make every lookup's read a miss.
	_           [cacheLine]byte
	seq         atomic.Uint64
	anchorNanos atomic.Int64  // the clock's reading, taken after anchorTicks
	anchorTicks atomic.Uint64 // the counter's reading
	rate        atomic.Uint64 // nanoseconds per tick, times 2^32 (tscRate)
	window      atomic.Uint64 // ticks an anchor serves for
	_           [cacheLine - 40]byte
}

func newClock() *clock {
	now := time.Now()
	return &clock{base: now, baseNanos: int64(now.Sub(tscBase)), counter: tscUsable() && timeMoves()}
}

// precise reads the OS's monotonic clock.
func (k *clock) precise() int64 { return int64(time.Since(k.base)) + 1 }

// liveAt reports whether an entry expiring at expires (0: never) is live
// now, for a lookup. It also returns the time used (0 if the entry never
// expires, when no time is read): never before the true time, and at most
// tscEarlyBound after it.
func (k *clock) liveAt(expires int64) (bool, int64) {
	if expires == 0 {
		return true, 0
	}
	t := k.lookupTime()
	return t < expires, t
}

// lookupTime is the time for a lookup: from the time-stamp counter and
// the anchor while the anchor serves, from the OS clock otherwise.
func (k *clock) lookupTime() int64 {
	if !k.counter {
		return k.precise()
	}
	s := k.seq.Load()
	nanos, ticks := k.anchorNanos.Load(), k.anchorTicks.Load()
	rate, window := k.rate.Load(), k.window.Load()
	now := readTicks()
	if s&1 == 0 && k.seq.Load() == s {
		if t, ok := sinceAnchor(nanos, ticks, rate, window, now); ok {
			return t
		}
	}
	return k.reanchor(s)
}

// sinceAnchor converts the counter reading now to the clock's time from an
// anchor (nanos, ticks), rounded up and padded by tscReorderPad, and
// reports whether the anchor serves it: now is at or after the anchor's
// ticks and less than window ticks later. The product fits 64 bits: the
// window's ticks times the rate is about tscWindow times 2^32.
func sinceAnchor(nanos int64, ticks, rate, window, now uint64) (int64, bool) {
	d := now - ticks // wraps to a large number if now is before ticks
	if d >= window {
		return 0, false
	}
	return nanos + int64((d*rate+(1<<32-1))>>32) + int64(tscReorderPad), true
}

// reanchor reads the OS clock for a lookup and, where the counter is
// calibrated, publishes a new anchor, unless another lookup is publishing
// one, or this one was descheduled between its readings, or the counter
// fell behind the clock since the last anchor (tscCheck), which turns the
// counter off for the process. s is the sequence number read before the
// anchor was found stale.
func (k *clock) reanchor(s uint64) int64 {
	before := readTicks()
	t := k.precise()
	after := readTicks()
	rate, window, ok := tscCalibrated(before, after, k.baseNanos+t)
	if !ok || after-before > window/tscBracketDivisor || s&1 == 1 || !k.seq.CompareAndSwap(s, s+1) {
		return t
	}
	if prev := k.anchorTicks.Load(); prev != 0 && !tscCheck(k.anchorNanos.Load(), prev, rate, t, before, after) {
		tscDisable()
		window = 0
	}
	// The anchor pairs the clock's reading with the counter's reading
	// before it: the true time at that tick count is at most t, so times
	// derived from the pair are never early.
	k.anchorNanos.Store(t)
	k.anchorTicks.Store(before)
	k.rate.Store(rate)
	k.window.Store(window)
	k.seq.Store(s + 2)
	return t
}

// mulShift32 is a*b/2^32 for any a, b (no overflow), rounded down.
func mulShift32(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi<<32 | lo>>32
}
