//go:build unix

package metrics

import "syscall"

// processCPU returns the CPU time (user + system) this process has used, in
// nanoseconds. On a machine shared with other work, CPU time per operation
// is steadier than wall time, which also counts the time the process spent
// waiting to be scheduled.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
