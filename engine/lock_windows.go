package engine

import (
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes an exclusive lock on the whole of f without waiting
// (LockFileEx, the lock Windows has in place of flock), held until f is
// closed; it reports whether it got it.
func tryLock(f *os.File) bool {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, ^uint32(0), ^uint32(0), &ol) == nil
}

// removeUnlocked removes path in root when no other process holds a lock
// on it, and reports whether it did. f is path opened; it is closed
// here, since Windows removes no file that is open. Between the close and
// the removal nobody can take the file up again: a transfer only ever
// creates a partial file anew.
func removeUnlocked(root *os.Root, path string, f *os.File) bool {
	if !tryLock(f) {
		return false
	}
	f.Close()
	return root.Remove(path) == nil
}
