//go:build !unix

package adaptive

// processCPU is not measured on this platform.
func processCPU() (int64, bool) { return 0, false }
