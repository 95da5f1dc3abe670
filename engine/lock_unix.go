//go:build !windows

package engine

import (
	"os"
	"syscall"
)

// tryLock takes an exclusive lock on f without waiting (flock), held
// until f is closed; it reports whether it got it.
func tryLock(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// removeUnlocked removes path in root when no other process holds a lock
// on it, and reports whether it did. f is path opened; the caller closes
// it. Removing it while locked means no transfer can take the lock in
// between.
func removeUnlocked(root *os.Root, path string, f *os.File) bool {
	return tryLock(f) && root.Remove(path) == nil
}
