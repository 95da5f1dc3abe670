//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package engine

import (
	"os"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// openPTY opens a pseudo-terminal in raw mode: no echo, no line editing,
// no CR/LF translation either way, no signal characters. The mode is set
// before the child starts, so that the first bytes of a fast child are
// not echoed or translated. master is pollable, so deadlines work on it.
func openPTY() (master, tty *os.File, err error) {
	master, tty, err = pty.Open()
	if err != nil {
		return nil, nil, err
	}
	// pty.Open's ioctls went through master.Fd(), which made it blocking:
	// a read would then hold a thread and ignore deadlines. A
	// non-blocking duplicate is one the poller takes.
	if master, err = pollable(master); err != nil {
		tty.Close()
		return nil, nil, err
	}
	// On the terminal side: master.Fd() (which pty.Setsize calls too)
	// would make master blocking and lose its deadlines. A size, since
	// some programs divide by the width.
	if _, err = term.MakeRaw(int(tty.Fd())); err == nil {
		err = unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	}
	if err != nil {
		master.Close()
		tty.Close()
		return nil, nil, err
	}
	return master, tty, nil
}

// pollable returns a non-blocking duplicate of f, which os.NewFile hands
// to the poller, and closes f.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// ptyAttr makes the child the leader of a session of its own with the
// terminal as its controlling terminal, as a login shell has it: its
// process group is its pid, so killing the group reaches its children as
// with pipes. (Setpgid is not set: a session leader cannot change group.)
func ptyAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
}
