//go:build linux || darwin

package dashboard

import "syscall"

// diskUsage is the bytes used and the size of the file system holding path,
// as an unprivileged writer sees it: used counts the blocks reserved for
// root, so that used reaches size when nothing more can be written.
func diskUsage(path string) (used, size uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	size = st.Blocks * bs
	return size - min(size, st.Bavail*bs), size, nil
}
