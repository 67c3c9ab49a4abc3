//go:build linux || darwin || freebsd

package health

import "golang.org/x/sys/unix"

// freeBytes is the space available to unprivileged users on path's file
// system.
func freeBytes(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil //nolint:unconvert // field types differ by OS
}
