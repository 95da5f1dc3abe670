//go:build !windows

package errtext

import "syscall"

// Text returns the C runtime's text and errno for errno: on Unix errno
// is one already, and its text is Go's (glibc's, in lower case); ok is
// false when Go has no text for it.
func Text(errno syscall.Errno) (text string, cErrno int, ok bool) {
	return errno.Error(), int(errno), true
}
