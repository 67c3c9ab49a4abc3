package redislimit

import "time"

// SetClock makes l send now() to the script instead of letting it read
// Redis TIME, so that tests can step time deterministically.
func SetClock(l *Limiter, now func() time.Time) { l.clock = now }
