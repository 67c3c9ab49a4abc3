package redislimit

import "time"

// SetClock makes l send now() to the script instead of letting it read
// Redis TIME, so that tests can step time deterministically.
func SetClock(l *Limiter, now func() time.Time) { l.clock = now }

// DegradedFor returns how long a FailLocal limiter has decided without
// Redis so far.
func DegradedFor(l *Limiter) time.Duration { return l.local.degradedFor(time.Now()) }

// Instances returns the N a FailLocal limiter divides the limit by now.
func Instances(l *Limiter) int {
	l.local.mu.Lock()
	defer l.local.mu.Unlock()
	return l.local.instances()
}
