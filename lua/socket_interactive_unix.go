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
func ttyInput(ctx context.Context, out chan<- []byte) error {
	fds := []unix.PollFd{{Fd: 0, Events: unix.POLLIN}}
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
		m, err := unix.Read(0, buf)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return err
		}
		if m == 0 {
			return errStdinEOF
		}
		select {
		case out <- append([]byte(nil), buf[:m]...):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
