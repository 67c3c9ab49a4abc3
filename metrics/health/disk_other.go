//go:build !(linux || darwin || freebsd)

package health

import (
	"errors"
	"runtime"
)

func freeBytes(string) (uint64, error) {
	return 0, errors.New("free space is not supported on " + runtime.GOOS)
}
