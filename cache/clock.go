package cache

import (
	"sync/atomic"
	"time"
)

// clock is the cache's time: nanoseconds on the monotonic clock since the
// cache was created, plus one so that 0 can mean "never expires". The
// monotonic clock is immune to wall-clock steps, and testing/synctest
// drives it.
//
// Every check of an expiry measures the time afresh, lookups included. An
// earlier version let lookups share a coarse reading that a timer aged
// after a millisecond; when every P was busy the Go scheduler ran that
// timer late and expired entries were served up to hundreds of
// milliseconds past their TTL (issue #23). No in-process signal bounds how
// old a shared reading is when the scheduler (or the OS) delays the code
// that would refresh it, so a lookup must measure the time itself.
//
// Writes and every decision that an entry is absent read the OS's
// monotonic clock (time.Since). Where the CPU's time-stamp counter is
// usable (tsc.go), a lookup first reads the counter, about a third of the
// cost and, unlike the OS clock's read, no barrier to the lookup's memory
// loads around it, and converts the ticks since its clock's anchor (a
// counter reading paired with an OS clock reading, at most tscWindow old)
// to nanoseconds. If that time lies more than tscGuard before the
// entry's expiry, the entry is live; otherwise the lookup reads the OS
// clock and decides by it. Converted time strays from the OS clock's by
// far less than tscGuard (tsc.go bounds it), so a lookup decides as one
// reading the OS clock would: an expired entry is never served, and a
// live one never reads as absent. Entries without a TTL read no time.
type clock struct {
	base time.Time
	// baseNanos is base on the process's monotonic scale (tscBase), for
	// the counter's calibration, which all clocks share (cal: tsc, but
	// for tests).
	baseNanos int64
	cal       *tscCalibrator
	// Every lookup reads the words below and a new anchor writes them
	// once per tscWindow, so they have cache lines of their own: a
	// neighbour written often would make every lookup's read a miss.
	_ [cacheLine]byte
	// off: lookups read the OS clock only (the counter is not usable, the
	// clock was made in a synctest bubble, whose fake time the counter
	// does not follow, or the counter disagreed with the clock).
	off atomic.Bool
	// The anchor, written under a sequence lock: seq is odd while a
	// writer changes the fields, and a reader that sees seq change
	// discards what it read. window is 0 until the counter is
	// calibrated, which makes every tick count fall outside it.
	seq         atomic.Uint64
	anchorNanos atomic.Int64  // the clock's reading
	anchorTicks atomic.Uint64 // the counter's reading at the same instant (the middle of two)
	rate        atomic.Uint64 // nanoseconds per tick, times 2^32
	window      atomic.Uint64 // ticks an anchor serves for
	_           [cacheLine]byte
}

func newClock() *clock {
	now := time.Now()
	k := &clock{base: now, baseNanos: int64(now.Sub(tscBase)), cal: tsc}
	k.off.Store(!tscUsable() || tsc.state() == tscOff || !timeMoves())
	return k
}

// precise reads the OS's monotonic clock.
func (k *clock) precise() int64 { return int64(time.Since(k.base)) + 1 }

// liveAt reports whether an entry expiring at expires (0: never) is live
// now, for a lookup, and the time it decided by (0 if the entry never
// expires, when no time is read). A live entry's time may be the
// counter's; an absent one's is always the OS clock's.
func (k *clock) liveAt(expires int64) (bool, int64) {
	if expires == 0 {
		return true, 0
	}
	t := k.lookupTime(expires)
	return t < expires, t
}

// lookupTime is the time for a lookup whose outcome changes at limit (an
// expiry, or a refresh point before it): the counter's converted time if
// that lies more than tscGuard before limit, the OS clock's otherwise.
func (k *clock) lookupTime(limit int64) int64 {
	if k.off.Load() {
		return k.precise()
	}
	return k.counterTime(limit)
}

// counterTime is lookupTime on a clock that uses the counter.
func (k *clock) counterTime(limit int64) int64 {
	s := k.seq.Load()
	nanos, ticks := k.anchorNanos.Load(), k.anchorTicks.Load()
	rate, window := k.rate.Load(), k.window.Load()
	now := readTicks()
	if s&1 == 0 && k.seq.Load() == s {
		t, ok := sinceAnchor(nanos, ticks, rate, window, now)
		if !ok {
			return k.reanchor(s)
		}
		if t < limit-int64(tscGuard) {
			return t
		}
	}
	return k.precise()
}

// sinceAnchor converts the counter reading now to the clock's time from an
// anchor (nanos, ticks) and reports whether the anchor serves it: now is
// at or after the anchor's ticks and less than window ticks later. The
// product fits 64 bits: the window's ticks times the rate is about
// tscWindow times 2^32.
func sinceAnchor(nanos int64, ticks, rate, window, now uint64) (int64, bool) {
	d := now - ticks // wraps to a large number if now is before ticks
	if d >= window {
		return 0, false
	}
	return nanos + int64((d*rate)>>32), true
}

// reanchor reads the OS clock for a lookup whose anchor no longer serves
// and, where the counter is calibrated, publishes a new anchor, unless
// another lookup is publishing one, or this one was descheduled between
// its readings (anchorPair), or the clock's time jumped since the last
// anchor (tscCheck). s is the sequence number read before the anchor was
// found stale.
func (k *clock) reanchor(s uint64) int64 {
	before := readTicks()
	t := k.precise()
	after := readTicks()
	rate, window, state := k.cal.offer(before, after, k.baseNanos+t)
	if state == tscOff {
		k.off.Store(true)
	}
	ticks, ok := anchorPair(before, after, window)
	if state != tscReady || !ok || s&1 == 1 || !k.seq.CompareAndSwap(s, s+1) {
		return t
	}
	publish := true
	if prev := k.anchorTicks.Load(); prev == 0 {
		// The first anchor: a clock made outside a synctest bubble may
		// be used in one.
		if !timeMoves() {
			k.off.Store(true)
			publish = false
		}
	} else {
		switch verdict := tscCheck(k.anchorNanos.Load(), prev, rate, t, ticks, after-before); verdict {
		case counterBackwards:
			// Another CPU's counter behind the last anchor's, or a
			// counter that restarted (a resume, a restored snapshot): the
			// new pair is as good as a first one. An anchor from a CPU
			// whose counter is behind only makes converted time run ahead
			// on the others, which sends more lookups to the OS clock.
		case clockBackwards, counterBehind:
			// A clock going backwards is fake time (a synctest bubble
			// starts in 2000); a counter behind is fake time jumping
			// ahead, or a counter that changed its rate. Either way this
			// clock stops using the counter, and a counter behind
			// counts against it for the process.
			k.off.Store(true)
			publish = false
			if verdict == counterBehind {
				k.cal.mismatch()
			}
		}
	}
	if publish {
		k.anchorNanos.Store(t)
		k.anchorTicks.Store(ticks)
		k.rate.Store(rate)
		k.window.Store(window)
	}
	k.seq.Store(s + 2)
	return t
}

// anchorPair returns the tick count an anchor pairs with a clock reading
// taken between the counter readings before and after (their middle), if
// the two lie at most window/tscBracketDivisor apart: a goroutine
// descheduled between them would pair the clock with a tick count far
// from its instant.
func anchorPair(before, after, window uint64) (uint64, bool) {
	if after < before || after-before > window/tscBracketDivisor {
		return 0, false
	}
	return before + (after-before)/2, true
}
