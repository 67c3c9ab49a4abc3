//go:build unix

package httpcachebench

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the process has used. On a
// shared, oversubscribed machine it measures the work per operation more
// steadily than wall time, which also counts the time spent waiting for a
// CPU.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
