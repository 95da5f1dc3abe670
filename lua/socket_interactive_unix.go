//go:build !windows

package lua

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"
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
		b, typed, end := ahead.take(buf[:m])
		if ahead.echo && typed > 0 {
			echo(b[:typed])
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
