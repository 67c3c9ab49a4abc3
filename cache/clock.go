package cache

import "time"

// clock is the cache's time: nanoseconds on the monotonic clock since the
// cache was created, plus one so that 0 can mean "never expires". The
// monotonic clock is immune to wall-clock steps, and testing/synctest
// drives it.
//
// Every check of an expiry reads the real clock, lookups included. An
// earlier version let lookups share a coarse reading that a timer aged
// after a millisecond; when every P was busy the Go scheduler ran that
// timer late and expired entries were served up to hundreds of
// milliseconds past their TTL (issue #23). No in-process signal bounds how
// old a shared reading is when the scheduler (or the OS) delays the code
// that would refresh it, so a lookup that must not serve an expired entry
// has to read the clock itself. Entries without a TTL read no clock.
type clock struct {
	base time.Time
}

func newClock() *clock { return &clock{base: time.Now()} }

// precise reads the real clock.
func (k *clock) precise() int64 { return int64(time.Since(k.base)) + 1 }

// liveAt reports whether an entry expiring at expires (0: never) is live
// now, for a lookup. It also returns the reading used (0 if the entry
// never expires, when no clock is read).
func (k *clock) liveAt(expires int64) (bool, int64) {
	if expires == 0 {
		return true, 0
	}
	t := k.precise()
	return t < expires, t
}
