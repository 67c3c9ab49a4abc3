//go:build unix

package adaptive

import "syscall"

// processCPU returns the CPU time (user + system) this process has used, in
// nanoseconds: steadier than wall time on a shared machine.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
