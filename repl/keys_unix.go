//go:build !windows

package repl

import (
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// A keyFeed is the line editor's standard input on a terminal: a pipe it
// fills with the keys typed, one at a time, read from the terminal only
// while a line is edited and never past the Enter that ends it. The
// editor reads its input through a buffer of its own and would otherwise
// take every key that had arrived with the Enter: lines pasted after one
// that starts c:interactive() or io.read() would run at the next prompt
// as Lua instead of going where the line sent them. Keys after the Enter
// stay in the terminal for whatever reads next.
type keyFeed struct {
	editorIn *os.File // the editor's end of the pipe
	w        *os.File // the feed's end
	wake     [2]int   // a pipe that wakes the feed's poll when its state changes

	mu      sync.Mutex
	editing bool      // a line is being edited
	held    bool      // Enter went to the editor: no more keys for this line
	heldAt  time.Time // when
	closed  bool
}

// afterEnter is how long the feed holds keys after an Enter while the
// editor still edits: an Enter that answers the editor's question "Display
// all N possibilities?" does not end the line, and the editor then waits
// for more. A line that ends gives the terminal back well within it, even
// on a loaded machine; were it slower, a key typed after the Enter would
// go to the next prompt, as it did without the feed.
const afterEnter = 500 * time.Millisecond

// newKeyFeed returns the feed of the terminal on stdin, running, or nil
// when stdin is not a terminal.
func newKeyFeed() *keyFeed {
	if !term.IsTerminal(0) {
		return nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	f := &keyFeed{editorIn: r, w: w}
	if err := unix.Pipe(f.wake[:]); err != nil {
		r.Close()
		w.Close()
		return nil
	}
	for _, fd := range f.wake {
		unix.CloseOnExec(fd)
		unix.SetNonblock(fd, true) // a wake never waits for the feed
	}
	go f.run()
	return f
}

// start lets keys through for a new line; stop holds them while the line
// is not being edited.
func (f *keyFeed) start() { f.set(func() { f.editing, f.held = true, false }) }
func (f *keyFeed) stop()  { f.set(func() { f.editing = false }) }

// close ends the feed; the editor reads the end of its input.
func (f *keyFeed) close() { f.set(func() { f.closed = true }) }

func (f *keyFeed) set(change func()) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed { // the feed has ended, and its wake pipe with it
		return
	}
	change()
	unix.Write(f.wake[1], []byte{0})
}

func (f *keyFeed) run() {
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closed = true
		f.w.Close()
		unix.Close(f.wake[0])
		unix.Close(f.wake[1])
	}()
	fds := []unix.PollFd{{Fd: 0, Events: unix.POLLIN}, {Fd: int32(f.wake[0]), Events: unix.POLLIN}}
	key, drain := make([]byte, 1), make([]byte, 64)
	for {
		f.mu.Lock()
		closed, open := f.closed, f.editing && !f.held
		timeout := -1
		if f.editing && f.held {
			timeout = max(int(time.Until(f.heldAt.Add(afterEnter))/time.Millisecond), 0)
		}
		f.mu.Unlock()
		if closed {
			return
		}
		// The terminal is watched only while keys may pass: a hung-up
		// terminal is always ready, and would spin the poll.
		watch := fds[1:]
		fds[0].Revents = 0
		if open {
			watch = fds
		}
		n, err := unix.Poll(watch, timeout)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if fds[1].Revents != 0 {
			unix.Read(f.wake[0], drain)
		}
		if n == 0 && timeout >= 0 { // the editor still edits after an Enter
			f.mu.Lock()
			if f.editing && f.held && time.Since(f.heldAt) >= afterEnter {
				f.held = false
			}
			f.mu.Unlock()
			continue
		}
		if !open || fds[0].Revents == 0 {
			continue
		}
		f.mu.Lock()
		if !f.editing || f.held { // stopped since the poll: leave the key
			f.mu.Unlock()
			continue
		}
		m, err := unix.Read(0, key)
		if m == 1 && (key[0] == '\r' || key[0] == '\n') {
			f.held, f.heldAt = true, time.Now()
		}
		f.mu.Unlock()
		switch {
		case m == 1:
			if _, err := f.w.Write(key); err != nil {
				return
			}
		case errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN):
		default: // the terminal is gone
			return
		}
	}
}
