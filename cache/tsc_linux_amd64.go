package cache

import (
	"bytes"
	"sync"
	"syscall"
)

// readTicks reads the CPU's time-stamp counter (RDTSC). It is not
// serializing: the CPU may run it a little before the instructions ahead
// of it finish, nanoseconds that tscGuard covers many times over.
func readTicks() uint64

// cpuid runs the CPUID instruction.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// tscUsable reports whether lookups may time themselves by the
// time-stamp counter: the CPU declares it invariant (CPUID leaf
// 0x80000007, EDX bit 8: it ticks at one rate in every power state), and
// Linux uses it as its clock source, which it does only after checking
// that the CPUs' counters agree and stay in step. The OS clock that
// lookups would read instead then derives from the same counter.
var tscUsable = sync.OnceValue(func() bool {
	if maxLeaf, _, _, _ := cpuid(0x80000000, 0); maxLeaf < 0x80000007 {
		return false
	}
	if _, _, _, edx := cpuid(0x80000007, 0); edx&(1<<8) == 0 {
		return false
	}
	return tscStillSource()
})

// tscStillSource reports whether the kernel's clock source is the
// counter. The kernel switches away from a counter its watchdog finds
// unstable; the calibrator asks again once a second (tscSourceRecheck),
// from a lookup, so the file stays open and each check is one pread into
// a fixed buffer (sysfs renders the file afresh for a read at offset 0):
// no allocation, one system call.
func tscStillSource() bool {
	clockSource.mu.Lock()
	defer clockSource.mu.Unlock()
	if clockSource.fd == 0 {
		fd, err := syscall.Open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			clockSource.fd = -1
		} else {
			clockSource.fd = fd + 1
		}
	}
	if clockSource.fd < 0 {
		return false
	}
	n, err := syscall.Pread(clockSource.fd-1, clockSource.buf[:], 0)
	return err == nil && string(bytes.TrimSpace(clockSource.buf[:max(n, 0)])) == "tsc"
}

// clockSource is the kernel's clock-source file, opened once: fd is the
// descriptor plus one (0: not opened yet, -1: cannot be opened).
var clockSource struct {
	mu  sync.Mutex
	fd  int
	buf [32]byte
}
