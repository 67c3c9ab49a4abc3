//go:build !(linux && amd64)

package cache

// Elsewhere than Linux on amd64 lookups read the OS clock (see tsc.go).

func readTicks() uint64 { return 0 }

func tscUsable() bool { return false }

func tscStillSource() bool { return false }
