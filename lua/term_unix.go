//go:build !windows

package lua

import "golang.org/x/sys/unix"

// noEcho turns the echo of terminal fd off and returns what turns it back
// on, or nil when fd's attributes cannot be read.
func noEcho(fd int) (restore func()) {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil
	}
	saved := *t
	t.Lflag &^= unix.ECHO
	unix.IoctlSetTermios(fd, ioctlSetTermios, t)
	return func() { unix.IoctlSetTermios(fd, ioctlSetTermios, &saved) }
}
