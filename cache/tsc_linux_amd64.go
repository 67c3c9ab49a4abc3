package cache

import (
	"bytes"
	"os"
	"sync"
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
// unstable; the calibrator asks again once a second (tscSourceRecheck).
func tscStillSource() bool {
	source, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	return err == nil && string(bytes.TrimSpace(source)) == "tsc"
}
