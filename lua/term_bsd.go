//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package lua

import "golang.org/x/sys/unix"

// The ioctl requests that read and set a terminal's attributes.
const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// queuedInput is 0 here: the BSDs cook keys typed while the terminal was
// raw again themselves when it is made canonical (PENDIN), so typeAhead
// has nothing to do.
func queuedInput(fd int) int { return 0 }
