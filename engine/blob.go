package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// A Blob is bytes held outside the script: in memory while small, past a
// threshold in a temporary file that is already unlinked, so that a
// server answering many big results at once keeps them on disk, not in
// memory, and nothing is left behind however it ends. A Blob is written
// once, then read (WriteTo, Bytes) any number of times, from any goroutine.
type Blob struct {
	mu     sync.Mutex
	mem    []byte
	file   *os.File
	size   int64
	closed bool
}

// A Part is one piece of what Conn.SendParts writes: Bytes or a *Blob.
type Part interface {
	Size() int64
	WriteTo(w io.Writer) (int64, error)
}

// Bytes is a Part held in memory.
type Bytes []byte

// Size returns len(b).
func (b Bytes) Size() int64 { return int64(len(b)) }

// WriteTo writes b to w.
func (b Bytes) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

// Size returns the number of bytes held.
func (b *Blob) Size() int64 { return b.size }

// Spooled reports whether the bytes are in a file.
func (b *Blob) Spooled() bool { return b.file != nil }

// errBlobClosed means a Blob was read after Close.
var errBlobClosed = errors.New("blob closed")

// WriteTo writes all the bytes to w; from a file it lets the kernel copy
// them (sendfile) where w is a socket.
func (b *Blob) WriteTo(w io.Writer) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBlobClosed
	}
	if b.file == nil {
		n, err := w.Write(b.mem)
		return int64(n), err
	}
	if _, err := b.file.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, io.LimitReader(b.file, b.size))
}

// Bytes returns the bytes in memory, if there are at most max of them.
func (b *Blob) Bytes(max int64) ([]byte, error) {
	if b.size > max {
		return nil, fmt.Errorf("%d bytes is over the limit of %d", b.size, max)
	}
	if b.file == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.closed {
			return nil, errBlobClosed
		}
		return b.mem, nil
	}
	buf := make([]byte, 0, b.size)
	_, err := b.WriteTo(sliceWriter{&buf})
	return buf, err
}

type sliceWriter struct{ b *[]byte }

func (w sliceWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// Close frees the bytes: the file's space goes back to the disk at once.
// Closing a nil Blob does nothing.
func (b *Blob) Close() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed, b.mem = true, nil
	if b.file != nil {
		return b.file.Close()
	}
	return nil
}

// A spooler collects a stream into a Blob: up to threshold bytes in
// memory, the rest in a temporary file, and past limit nothing more (the
// rest is read and dropped, so the writer never blocks).
type spooler struct {
	blob      *Blob
	threshold int64
	limit     int64
	dropped   bool
	err       error // from the temporary file; reported by blob()
}

func newSpooler(threshold, limit int64) *spooler {
	return &spooler{blob: &Blob{}, threshold: threshold, limit: limit}
}

func (s *spooler) Write(p []byte) (int, error) {
	n := len(p)
	b := s.blob
	if room := s.limit - b.size; int64(len(p)) > room {
		p = p[:max(room, 0)]
		s.dropped = true
	}
	if len(p) == 0 || s.err != nil {
		return n, nil
	}
	if b.file == nil && b.size+int64(len(p)) > s.threshold {
		f, err := os.CreateTemp("", "wirelab-spool-*")
		if err == nil {
			os.Remove(f.Name())
			_, err = f.Write(b.mem)
		}
		if err != nil {
			s.err = err
			return n, nil
		}
		b.file, b.mem = f, nil
	}
	if b.file != nil {
		if _, err := b.file.Write(p); err != nil {
			s.err = err
			return n, nil
		}
	} else {
		b.mem = append(b.mem, p...)
	}
	b.size += int64(len(p))
	return n, nil
}

func (s *spooler) cut() bool { return s.dropped }

// result returns the Blob, or the error that kept bytes from the disk.
func (s *spooler) result() (*Blob, error) {
	if s.err != nil {
		s.blob.Close()
		return nil, s.err
	}
	return s.blob, nil
}
