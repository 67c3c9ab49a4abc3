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
// nanoseconds from an anchor its clock took (clock.go). The rules that
// keep this from serving an expired entry:
//
//   - The rate, nanoseconds per tick, is measured once per process
//     between two pairs of readings at least tscCalibrationSpan apart, and
//     raised by 1/tscRateMargin: more than the OS's own correction of its
//     clock's rate can change it (NTP slews by at most 500 ppm), so
//     converted ticks run ahead of the clock, never behind.
//   - An anchor pairs the clock's reading with the counter's reading taken
//     just before it, so the anchor's time is at or after the true time
//     of its tick count; a pair whose two counter readings lie more than
//     window/tscBracketDivisor apart (the goroutine was descheduled
//     between them) is not used.
//   - An anchor serves for tscWindow (in ticks); ticks before the anchor
//     (another CPU's counter behind this one's) never match it.
//   - A lookup adds tscReorderPad, for the counter read the CPU ran
//     before the instructions ahead of it had finished.
//   - Each new anchor is checked against the previous one (tscCheck): if
//     the counter ran slower than the rate says, converted ticks fell
//     behind the clock, and the counter is turned off for the process.
//   - A clock made in a synctest bubble (whose fake time the counter does
//     not follow) reads the OS clock always (timeMoves).
//
// So a lookup's time is at or after the true time and at most
// tscEarlyBound after it: an entry may read as absent that much before
// its expiry, never after it.
const (
	tscCalibrationSpan = 10 * time.Millisecond
	tscRateMargin      = 512 // the rate is raised by 1/tscRateMargin (about 2000 ppm)
	tscWindow          = time.Millisecond
	tscBracketDivisor  = 512 // a pair's counter readings lie at most tscWindow/tscBracketDivisor apart (about 2 µs)
	tscReorderPad      = time.Microsecond
	// tscEarlyBound bounds how far a lookup's time runs ahead of the
	// true time: the pair's bracket (2 µs), the rate margin over a
	// window (2 µs), the pad (1 µs), with room to spare.
	tscEarlyBound = 10 * time.Microsecond
	// tscPairTicks bounds a calibration pair's two counter readings
	// before the rate is known: 10 µs at 1 GHz.
	tscPairTicks = 10_000
)

// tscBase is the process's origin for the calibration's readings (every
// clock's base is converted to it).
var tscBase = time.Now()

// tsc is the process's calibration of the counter against the OS clock.
var tsc struct {
	mu sync.Mutex
	// first is the first pair of readings: ticks (the middle of two
	// counter readings) and nanoseconds since tscBase. Set once, under
	// mu, before firstSet.
	firstTicks uint64
	firstNanos int64
	firstSet   atomic.Bool
	// rate (nanoseconds per tick times 2^32, margin included) is 0 until
	// calibrated; window (ticks per tscWindow) is stored before it.
	rate     atomic.Uint64
	window   atomic.Uint64
	disabled atomic.Bool
}

// tscStart takes the calibration's first pair, once per process.
var tscStart = sync.OnceFunc(func() {
	if ticks, nanos, ok := tscPair(); ok {
		tsc.mu.Lock()
		tsc.firstTicks, tsc.firstNanos = ticks, nanos
		tsc.mu.Unlock()
		tsc.firstSet.Store(true)
	}
})

// tscPair reads the counter, the clock and the counter again, and returns
// the middle of the counter readings with the clock's reading (since
// tscBase), if the two counter readings lie close together.
func tscPair() (uint64, int64, bool) {
	for range 10 {
		before := readTicks()
		nanos := int64(time.Since(tscBase))
		after := readTicks()
		if after-before < tscPairTicks {
			return before + (after-before)/2, nanos, true
		}
	}
	return 0, 0, false
}

// timeMoves reports whether the clock advances while the caller runs: not
// in a synctest bubble, whose fake clock stands still until every
// goroutine in it blocks. Outside one it returns at the first reading
// that differs (nanoseconds); in one it gives up after about 10^5 ticks
// (tens of microseconds).
func timeMoves() bool {
	start := time.Now()
	from := readTicks()
	for readTicks()-from < 100_000 {
		if time.Since(start) != 0 {
			tscStart()
			return true
		}
	}
	return false
}

// tscCalibrated returns the counter's rate (nanoseconds per tick times
// 2^32) and the window in ticks, calibrating them first if the caller's
// pair of readings (counter before and after, clock in nanoseconds since
// tscBase between them) lies tscCalibrationSpan or more after the first
// pair. ok is false until then, and after the counter was turned off.
func tscCalibrated(before, after uint64, nanos int64) (rate, window uint64, ok bool) {
	if tsc.disabled.Load() {
		return 0, 0, false
	}
	if rate := tsc.rate.Load(); rate != 0 {
		return rate, tsc.window.Load(), true
	}
	// firstNanos is read without the lock once firstSet is seen (it was
	// written before), so lookups before the span ends take no lock.
	if !tsc.firstSet.Load() || after-before >= tscPairTicks || nanos-tsc.firstNanos < int64(tscCalibrationSpan) {
		return 0, 0, false
	}
	tsc.mu.Lock()
	defer tsc.mu.Unlock()
	if tsc.rate.Load() == 0 && !tsc.disabled.Load() {
		rate, window, ok := tscRate(tsc.firstTicks, tsc.firstNanos, before+(after-before)/2, nanos)
		if !ok {
			tsc.disabled.Store(true)
			return 0, 0, false
		}
		tsc.window.Store(window)
		tsc.rate.Store(rate)
	}
	return tsc.rate.Load(), tsc.window.Load(), !tsc.disabled.Load()
}

// tscRate computes the rate from two pairs of readings (ticks,
// nanoseconds), raised by 1/tscRateMargin, and the window in ticks. It
// refuses a counter that went backwards or whose frequency lies outside
// 100 MHz to 100 GHz.
func tscRate(ticks0 uint64, nanos0 int64, ticks1 uint64, nanos1 int64) (rate, window uint64, ok bool) {
	if ticks1 <= ticks0 || nanos1 <= nanos0 {
		return 0, 0, false
	}
	dTicks, dNanos := ticks1-ticks0, uint64(nanos1-nanos0)
	if dNanos>>32 >= dTicks { // 2^32 ns or more per tick
		return 0, 0, false
	}
	rate, rem := bits.Div64(dNanos>>32, dNanos<<32, dTicks)
	if rem != 0 {
		rate++ // rounded up
	}
	rate += rate/tscRateMargin + 1
	const (
		slowest = 10 << 32        // ns per tick at 100 MHz, times 2^32
		fastest = (1 << 32) / 100 // at 100 GHz
	)
	if rate > slowest || rate < fastest {
		return 0, 0, false
	}
	window, _ = bits.Div64(uint64(tscWindow)>>32, uint64(tscWindow)<<32, rate)
	return rate, window, true
}

// tscCheck reports whether a new pair of readings (counter before and
// after, clock t between them) agrees with the previous anchor (nanos,
// ticks): the time converted from the anchor at before must not be
// provably behind the true time then, which is at least t less the
// bracket. A counter that went backwards fails too.
func tscCheck(nanos int64, ticks, rate uint64, t int64, before, after uint64) bool {
	if before < ticks {
		return false
	}
	predicted := nanos + int64(mulShift32(before-ticks, rate))
	bracket := int64(mulShift32(after-before, rate)) + 1
	return predicted >= t-bracket
}

// tscDisable turns the counter off for the process: every clock reads
// the OS clock from its next anchor on (at most tscWindow later).
func tscDisable() { tsc.disabled.Store(true) }
