//go:build !windows

package lua

import (
	"bytes"
	"context"
	"errors"

	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/engine"
)

// ttyInput sends what is typed on the terminal, a line at a time as the
// terminal's line discipline hands it over, to out until ctx is done. It
// reads only when poll(2) says a line is there, so it never leaves a read
// pending that would take keystrokes meant for the prompt afterwards.
// What the terminal already held when the handover began is cooked as
// the terminal would have (see typeAhead), and given to echo when the
// terminal echoes.
func ttyInput(ctx context.Context, out chan<- []byte, echo func([]byte)) error {
	return ttyInputFD(ctx, stdinFD(), out, echo)
}

func ttyInputFD(ctx context.Context, fd int, out chan<- []byte, echo func([]byte)) error {
	ahead := newTypeAhead(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	buf := make([]byte, 4096)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := unix.Poll(fds, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if n == 0 || err != nil {
			continue
		}
		m, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return err
		}
		if m == 0 {
			return errStdinEOF
		}
		b := buf[:m]
		var end error
		if ahead.left > 0 {
			k := min(ahead.left, m)
			ahead.left -= k
			var typed []byte
			typed, end = ahead.cook(b[:k])
			if ahead.echo && len(typed) > 0 {
				echo(typed)
			}
			if end == nil {
				typed = append(typed, b[k:]...)
			}
			b = typed
		}
		if len(b) > 0 {
			select {
			case out <- append([]byte(nil), b...):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if end != nil {
			return end
		}
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
// cook such a queue again themselves: there queuedInput is 0.) A "\r" typed with Ctrl-V as that first line is sent as
// "\n": the one key this gets wrong.
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
