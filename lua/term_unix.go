//go:build !windows

package lua

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
	xterm "golang.org/x/term"

	"github.com/wirelab/wirelab/engine"
)

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

// stdinReader is what the runtimes' line reader reads: on a terminal, the
// terminal through cookedTTY; otherwise os.Stdin.
func stdinReader() io.Reader {
	if xterm.IsTerminal(stdinFD()) {
		return &cookedTTY{fd: stdinFD()}
	}
	return os.Stdin
}

// A cookedTTY reads a terminal, cooking what it held before each read as
// typeAhead does, so that lines pasted after the prompt's Enter reach
// term.readline as lines, echoed: the end-of-file key is the end of the
// input, and the interrupt key interrupts, through SIGINT, as the terminal
// would.
type cookedTTY struct {
	fd  int
	eof bool // an end of input came after what the last read returned
}

func (t *cookedTTY) Read(p []byte) (int, error) {
	if t.eof {
		t.eof = false
		return 0, io.EOF
	}
	ahead := newTypeAhead(t.fd)
	for {
		m, err := unix.Read(t.fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN): // a terminal left non-blocking
			unix.Poll([]unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}, -1)
			continue
		case err != nil:
			return 0, err
		case m == 0:
			return 0, io.EOF
		}
		b, typed, end := ahead.take(p[:m])
		if ahead.echo && typed > 0 {
			unix.Write(t.fd, b[:typed]) // on the terminal, as its own echo
		}
		switch {
		case errors.Is(end, errStdinEOF) && len(b) == 0:
			return 0, io.EOF
		case errors.Is(end, errStdinEOF):
			t.eof = true
		case errors.Is(end, engine.ErrInterrupted):
			syscall.Kill(os.Getpid(), syscall.SIGINT)
		}
		return len(b), nil
	}
}

// A typeAhead cooks the keys typed in the moment between the prompt's
// Enter and the handover, while the line editor still had the terminal
// raw. On Linux they wait in the terminal's queue as typed: Enter as
// "\r", Ctrl-C and Ctrl-D as bytes, and the switch to the normal mode
// hands them over as one line, so "xyz" and Enter would reach the peer
// as "xyz\r" with no end of line, and Ctrl-D as a byte. The first left
// bytes read, those the terminal held when the handover began, are
// cooked here as the terminal cooks what is typed: "\r" is "\n" under
// ICRNL, the interrupt key ends the handover as interrupted and the
// end-of-file key at the start of a line ends it as eof. (The BSDs
// cook such a queue again themselves: there queuedInput is 0.) A "\r"
// quoted with Ctrl-V among those bytes goes as "\n": the one key this
// gets wrong.
type typeAhead struct {
	left      int  // bytes still to read that were queued at the start
	lineStart bool // the next byte starts a line
	echo      bool // the terminal echoes what is typed
	icrnl     bool
	igncr     bool
	intr, eof byte // the keys, 0 when disabled
}

func newTypeAhead(fd int) *typeAhead {
	n := queuedInput(fd)
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil || n <= 0 || t.Lflag&unix.ICANON == 0 {
		return &typeAhead{}
	}
	a := &typeAhead{left: n, lineStart: true,
		echo:  t.Lflag&unix.ECHO != 0,
		icrnl: t.Iflag&unix.ICRNL != 0,
		igncr: t.Iflag&unix.IGNCR != 0,
		eof:   t.Cc[unix.VEOF],
	}
	if t.Lflag&unix.ISIG != 0 {
		a.intr = t.Cc[unix.VINTR]
	}
	return a
}

// take cooks what of b, just read, the terminal held before the read
// began, in place, and leaves the rest as it is. It returns what is to be
// handed over, how much of it was typed ahead (the terminal has not
// echoed that), and errStdinEOF or engine.ErrInterrupted when the keys
// typed ahead end the input, after which nothing more of b counts.
func (a *typeAhead) take(b []byte) (out []byte, typed int, end error) {
	k := min(a.left, len(b))
	if k == 0 {
		return b, 0, nil
	}
	a.left -= k
	cooked, end := a.cook(b[:k])
	if end != nil {
		return cooked, len(cooked), end
	}
	return append(cooked, b[k:]...), len(cooked), nil
}

// cook returns, in place in b, what of the typed-ahead keys b the
// terminal would have handed over, and errStdinEOF or
// engine.ErrInterrupted when they end the input.
func (a *typeAhead) cook(b []byte) ([]byte, error) {
	out := b[:0]
	for _, c := range b {
		switch {
		case c == '\r' && a.igncr:
			continue
		case c == '\r' && a.icrnl:
			c = '\n'
		case c == a.intr && c != 0:
			// The terminal drops the line being typed with the
			// interrupt; lines ended before it went out.
			return out[:bytes.LastIndexByte(out, '\n')+1], engine.ErrInterrupted
		case c == a.eof && c != 0:
			if a.lineStart {
				return out, errStdinEOF
			}
			a.lineStart = true // the line so far goes out as it is
			continue
		}
		out = append(out, c)
		a.lineStart = c == '\n'
	}
	return out, nil
}
