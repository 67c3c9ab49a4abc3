package cache

import (
	"sync/atomic"
	"time"
)

// Reading the monotonic clock costs about as much as the rest of a Get hit
// (28 ns of a ~40 ns hit on the project machine), so lookups read a coarse
// copy of it instead, and only as precisely as the entry needs.
const (
	// clockResolution is how long a coarse reading is used before the
	// next lookup reads the real clock again.
	clockResolution = time.Millisecond
	// clockSlack: an entry whose expiry is closer than this to the coarse
	// reading is checked against the real clock. It is larger than the
	// resolution because the timer that ages the reading can fire late:
	// with every CPU busy, Go runs timers at the next preemption, every
	// 10 ms (an expired entry was seen 14.7 ms late with a 5 ms slack and
	// one CPU spinning on Get).
	clockSlack = 25 * clockResolution
	// coarseWriteTTL: Set stamps an entry with a TTL at least this long
	// with the coarse reading, which is then up to clockResolution old
	// (clockSlack on a starved process): the entry lives that much less
	// than its TTL, at most 2.5 % of it, and never longer. Shorter TTLs
	// read the real clock.
	coarseWriteTTL = 40 * clockSlack
)

// clock is the cache's time: nanoseconds on the monotonic clock since the
// cache was created, plus one so that 0 can mean "never expires". The
// monotonic clock is immune to wall-clock steps, and testing/synctest
// drives it.
type clock struct {
	base time.Time
	// coarse is a recent reading, or 0 when it is older than
	// clockResolution. A timer started when it is stored clears it, so an
	// idle cache runs no timer at all (and a testing/synctest bubble is
	// never kept busy by one).
	coarse atomic.Int64
	timer  atomic.Pointer[time.Timer] // the one that will clear coarse, for stop
}

func newClock() *clock { return &clock{base: time.Now()} }

// precise reads the real clock.
func (k *clock) precise() int64 { return int64(time.Since(k.base)) + 1 }

// read returns the coarse reading if it is fresh, else reads the real
// clock and publishes the reading for clockResolution.
func (k *clock) read() int64 {
	if t := k.coarse.Load(); t != 0 {
		return t
	}
	t := k.precise()
	if k.coarse.CompareAndSwap(0, t) {
		k.timer.Store(time.AfterFunc(clockResolution, k.stale))
	}
	return t
}

// stale marks the coarse reading as too old to use.
func (k *clock) stale() { k.coarse.Store(0) }

// stop cancels a pending timer (Close), so that no callback runs after the
// cache is closed; a later lookup starts a new one.
func (k *clock) stop() {
	if t := k.timer.Load(); t != nil && t.Stop() {
		k.stale()
	}
}

// liveAt reports whether n is live, for a lookup: against the coarse
// clock when n's expiry is far, against the real one when it is near. It
// also returns the reading used (0 if n never expires).
func (k *clock) liveAt(expires int64) (bool, int64) {
	if expires == 0 {
		return true, 0
	}
	t := k.read()
	if expires-t > int64(clockSlack) {
		return true, t
	}
	t = k.precise()
	return t < expires, t
}

// writeClock is the time a write of an entry living ttl is stamped with
// (see coarseWriteTTL).
func (k *clock) writeClock(ttl time.Duration) int64 {
	if ttl >= coarseWriteTTL {
		return k.read()
	}
	return k.precise()
}
