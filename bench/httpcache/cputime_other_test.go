//go:build !unix

package httpcachebench

import "time"

// processCPU is not measured on this platform.
func processCPU() time.Duration { return 0 }
