package lua

import "golang.org/x/sys/unix"

// The ioctl requests that read and set a terminal's attributes.
const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)

// queuedInput is how many bytes terminal fd holds for its reader. Linux
// hands keys typed while the terminal was raw over uncooked when it is
// made canonical again; typeAhead cooks them.
func queuedInput(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
	if err != nil {
		return 0
	}
	return n
}
