package engine

import (
	"errors"
	"io"
	"sync"
	"syscall"
)

// A readBuf is a connection's read buffer that holds memory only while it
// holds bytes. A server may keep ten thousand connections waiting on
// their peers; with a bufio.Reader each would pin 4 KiB for nothing.
//
// On a socket (a syscall.Conn), a read that must wait gives its storage
// back to a pool first: the read is tried through the socket's RawConn,
// and when the kernel has nothing (EAGAIN) the buffer, if empty, goes back
// before the goroutine parks on the poller. That is the same number of
// system calls as Go's own net.Conn.Read. Other readers (TLS, pipes,
// traced connections) keep a buffer from their first read on.
//
// The buffer is bufio.Reader's subset that Conn uses: Buffered, Peek,
// Discard and Read, with the same meanings. Slices returned by Peek are
// valid until the next call.
type readBuf struct {
	src  io.Reader
	raw  syscall.RawConn     // nil: plain reads from src
	seen func([]byte, error) // given what raw reads bring, and how they end (the trace), or nil
	buf  []byte              // nil while empty and waiting
	pbuf *[]byte             // buf's pool entry, so that giving it back allocates nothing
	// big asks for the large storage at the next grab: the last read
	// filled its buffer, so the peer sends more than a small buffer holds
	// at once, and one read of the large one saves system calls.
	big  bool
	r, w int   // buf[r:w] are the bytes held
	err  error // the read error not yet returned
	// readOnce is the function raw reads call, made once rather than as
	// a closure per read; it leaves its results in n and errno.
	readOnce func(fd uintptr) bool
	n        int
	errno    error
}

// readBufSize is the storage of a buffer that holds bytes.
const readBufSize = 4096

// bigReadBufSize is the storage of a buffer on a stream of large
// messages: a 16 KiB frame then comes in one read rather than two or
// more, and a read is a system call, which costs microseconds on a
// virtual machine. The storage is held only while it holds bytes, as
// the small one is, so idle connections cost no more.
const bigReadBufSize = 64 << 10

// bufPool and bigBufPool keep the storage of buffers that emptied while
// waiting.
var (
	bufPool    = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	bigBufPool = sync.Pool{New: func() any { b := make([]byte, bigReadBufSize); return &b }}
)

// newReadBuf returns a buffer reading from src.
func newReadBuf(src io.Reader) *readBuf {
	b := &readBuf{src: src}
	if sc, ok := src.(syscall.Conn); ok && rawReads {
		if raw, err := sc.SyscallConn(); err == nil {
			b.raw = raw
			b.readOnce = b.readFD
		}
	}
	if w, ok := src.(*wire); ok {
		b.seen = w.readDone
	}
	return b
}

// Buffered returns the number of bytes held.
func (b *readBuf) Buffered() int { return b.w - b.r }

// release gives the storage back when no byte is held.
func (b *readBuf) release() {
	if b.buf != nil && b.r == b.w {
		if b.pbuf != nil {
			if len(*b.pbuf) == bigReadBufSize {
				bigBufPool.Put(b.pbuf)
			} else {
				bufPool.Put(b.pbuf)
			}
		}
		b.buf, b.pbuf, b.r, b.w = nil, nil, 0, 0
	}
}

// grab takes storage for reading into.
func (b *readBuf) grab() {
	if b.buf == nil {
		if b.big {
			b.pbuf = bigBufPool.Get().(*[]byte)
		} else {
			b.pbuf = bufPool.Get().(*[]byte)
		}
		b.buf = *b.pbuf
		b.r, b.w = 0, 0
	}
}

// sized notes a read of n bytes into room bytes of storage: one that
// fills a small buffer asks for the large one next time, and one that
// brings less than a small buffer's worth goes back to the small.
func (b *readBuf) sized(n, room int) {
	switch {
	case n == room && len(b.buf) < bigReadBufSize:
		b.big = true
	case n < readBufSize && len(b.buf) == bigReadBufSize:
		b.big = false
	}
}

// readErr returns the pending error, clearing it.
func (b *readBuf) readErr() error {
	err := b.err
	b.err = nil
	return err
}

// fill reads once more into the buffer, after the bytes held, which it
// first moves to the front.
func (b *readBuf) fill() {
	if b.r > 0 && b.r < b.w {
		copy(b.buf, b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	} else if b.r == b.w {
		b.r, b.w = 0, 0
		if b.buf != nil && b.big != (len(b.buf) == bigReadBufSize) {
			b.release() // the other size suits the stream now
		}
	}
	for range 100 {
		var n int
		var err error
		if b.raw != nil && b.w == 0 {
			n, err = b.rawRead()
		} else {
			b.grab()
			n, err = b.src.Read(b.buf[b.w:])
			b.sized(n, len(b.buf)-b.w)
		}
		if n < 0 {
			panic(errors.New("engine: negative read count"))
		}
		b.w += n
		if err != nil {
			b.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	b.err = io.ErrNoProgress
}

// rawRead reads into fresh storage through the socket, holding none while
// the socket has nothing to read.
func (b *readBuf) rawRead() (int, error) {
	b.n, b.errno = 0, nil
	err := b.raw.Read(b.readOnce)
	n, rerr := b.n, b.errno
	b.errno = nil
	switch {
	case err != nil:
		b.release()
		return 0, err
	case rerr != nil:
		b.release()
		err = &syscallError{rerr}
	case n == 0:
		b.release()
		err = io.EOF
	}
	if b.seen != nil {
		if err != nil {
			b.seen(nil, err)
		} else {
			b.seen(b.buf[b.w:b.w+n], nil)
		}
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// readFD is rawRead's one try: it reads what the socket holds, or gives
// the storage back and asks the poller to wait when it holds nothing.
func (b *readBuf) readFD(fd uintptr) bool {
	b.grab()
	n, err := readFD(fd, b.buf[b.w:])
	if err == syscall.EINTR {
		n, err = readFD(fd, b.buf[b.w:])
	}
	if err == syscall.EAGAIN {
		b.release()
		return false
	}
	b.sized(n, len(b.buf)-b.w)
	b.n, b.errno = n, err
	return true
}

// A syscallError is a read's failure from the system.
type syscallError struct{ errno error }

func (e *syscallError) Error() string { return "read: " + e.errno.Error() }
func (e *syscallError) Unwrap() error { return e.errno }

// Peek returns the next n bytes without taking them, reading as needed;
// fewer, with the error, when a read fails first. n must be at most
// readBufSize, or at most the bytes held (a large buffer holds more).
func (b *readBuf) Peek(n int) ([]byte, error) {
	if n > readBufSize && n > b.w-b.r {
		return nil, errors.New("engine: peek beyond the read buffer")
	}
	for b.w-b.r < n && b.err == nil {
		b.fill()
	}
	if b.w-b.r < n {
		return b.buf[b.r:b.w], b.readErr()
	}
	return b.buf[b.r : b.r+n], nil
}

// Discard drops the next n bytes held (at most Buffered).
func (b *readBuf) Discard(n int) (int, error) {
	n = min(n, b.w-b.r)
	b.r += n
	if b.r == b.w {
		b.r, b.w = 0, 0
	}
	return n, nil
}

// Read reads into p the bytes held, or when there are none, what one read
// brings: straight into p when p is at least a buffer long.
func (b *readBuf) Read(p []byte) (int, error) {
	if len(p) == 0 {
		if b.Buffered() > 0 {
			return 0, nil
		}
		return 0, b.readErr()
	}
	if b.r == b.w {
		if b.err != nil {
			return 0, b.readErr()
		}
		if len(p) >= readBufSize {
			n, err := b.src.Read(p)
			if n < 0 {
				panic(errors.New("engine: negative read count"))
			}
			return n, err
		}
		b.fill()
		if b.r == b.w {
			return 0, b.readErr()
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	if b.r == b.w {
		b.r, b.w = 0, 0
	}
	return n, nil
}
