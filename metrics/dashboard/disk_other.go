//go:build !(linux || darwin)

package dashboard

import "errors"

// diskUsage is not implemented on this system: Config.DiskPaths is refused.
func diskUsage(string) (used, size uint64, err error) {
	return 0, 0, errors.New("disk usage is read on Linux and macOS only")
}
