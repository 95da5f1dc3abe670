package lua

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/internal/testbin"
)

// TestInteractiveTypeAhead types keys into a real terminal while it is
// raw, as it is in the moment between the prompt's Enter and the
// handover, then makes it canonical and hands it over: what reaches the
// peer is what the keys mean, lines ending in "\n", Ctrl-D an end and
// Ctrl-C an interrupt, not "\r" and control bytes. Keys typed after the
// handover began are cooked by the terminal itself, and must come through
// unchanged.
func TestInteractiveTypeAhead(t *testing.T) {
	for _, tc := range []struct {
		name, ahead, after string
		want               []string // what goes to the peer, in order
		end                error
	}{
		{"a line", "xyz\r", "more\r", []string{"xyz\n", "more\n"}, nil},
		{"two lines and a part", "a\rb\rc", "d\r", []string{"a\nb\nc", "d\n"}, nil},
		{"Ctrl-D on an empty line", "\x04", "", nil, errStdinEOF},
		{"Ctrl-D after a line", "ab\r\x04", "", []string{"ab\n"}, errStdinEOF},
		{"Ctrl-D in a line sends it", "ab\x04", "c\r\x04", []string{"ab", "c\n"}, errStdinEOF},
		{"Ctrl-C", "ok\rdropped\x03", "", []string{"ok\n"}, engine.ErrInterrupted},
		{"Ctrl-C alone", "\x03", "", nil, engine.ErrInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master, tty, err := pty.Open()
			if err != nil {
				t.Skip("no pseudo-terminal:", err)
			}
			defer master.Close()
			defer tty.Close()
			fd := int(tty.Fd())
			cooked, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
			if err != nil {
				t.Fatal(err)
			}
			raw := *cooked // the line editor's mode while it reads a line
			raw.Iflag &^= unix.ICRNL
			raw.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG | unix.IEXTEN
			if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &raw); err != nil {
				t.Fatal(err)
			}
			master.Write([]byte(tc.ahead))
			testbin.WaitFor(t, 10*time.Second, "the keys in the terminal's queue", func() bool {
				n, _ := unix.IoctlGetInt(fd, unix.TIOCINQ)
				return n == len(tc.ahead)
			})
			if err := unix.IoctlSetTermios(fd, ioctlSetTermios, cooked); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			out := make(chan []byte, 10)
			echoed := make(chan []byte, 10)
			done := make(chan struct{})
			var end error // ttyInputFD's, once done is closed
			go func() {
				defer close(done)
				end = ttyInputFD(ctx, fd, out, func(b []byte) { echoed <- append([]byte(nil), b...) })
			}()
			// The reader must be gone before the terminal is closed: the
			// next test's terminal may get its descriptor's number.
			defer func() {
				cancel()
				<-done
			}()
			var got []string
			next := func() bool {
				select {
				case b := <-out:
					got = append(got, string(b))
					return true
				case <-done:
					select { // what it sent before it ended
					case b := <-out:
						got = append(got, string(b))
						return true
					default:
						return false
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("after %q, nothing more came", got)
					return false
				}
			}
			for len(got) < len(tc.want) && next() {
				if len(got) == 1 && tc.after != "" {
					master.Write([]byte(tc.after))
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("the peer got %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("the peer got %q, want %q", got, tc.want)
				}
			}
			if tc.end != nil {
				select {
				case <-done:
					if !errors.Is(end, tc.end) {
						t.Fatalf("ended with %v, want %v", end, tc.end)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("did not end with %v", tc.end)
				}
			}
			select {
			case b := <-echoed:
				if len(tc.want) > 0 && string(b) != tc.want[0] {
					t.Fatalf("echoed %q, want what was typed ahead, %q", b, tc.want[0])
				}
			default:
				if len(tc.want) > 0 {
					t.Fatal("the keys typed ahead were not echoed")
				}
			}
		})
	}
}
