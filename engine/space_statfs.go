//go:build linux || darwin || freebsd

package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// freeSpace returns the bytes an unprivileged process may still write on
// the file system of root, and whether it could tell.
func freeSpace(root *os.Root) (int64, bool) {
	d, err := root.Open(".")
	if err != nil {
		return 0, false
	}
	defer d.Close()
	var st unix.Statfs_t
	if unix.Fstatfs(int(d.Fd()), &st) != nil {
		return 0, false
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	return int64(min(free, 1<<62)), true
}
