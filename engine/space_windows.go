package engine

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// freeSpace returns the bytes the process may still write on the volume
// of root (GetDiskFreeSpaceEx, which counts the caller's quota), and
// whether it could tell.
func freeSpace(root *os.Root) (int64, bool) {
	dir, err := filepath.Abs(root.Name())
	if err != nil {
		return 0, false
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, false
	}
	var avail, total, free uint64
	if windows.GetDiskFreeSpaceEx(p, &avail, &total, &free) != nil {
		return 0, false
	}
	return int64(min(avail, 1<<62)), true
}
