//go:build !windows

package lua

import "golang.org/x/sys/unix"

// stdinFD, stdoutFD and stderrFD are the standard streams' descriptors.
// They are not asked of os.Stdin.Fd(): that puts the file in blocking
// mode, where its deadlines stop working and a read pending on it can
// no longer be cut short.
func stdinFD() int  { return 0 }
func stdoutFD() int { return 1 }
func stderrFD() int { return 2 }

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
