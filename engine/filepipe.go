package engine

import (
	"context"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the unit of the file pipelines: a system call and a
// hand-off per MiB cost nothing beside hashing it (about 1.3 ms for md5).
const chunkSize = 1 << 20

// pipeDepth is how many chunks a pipeline has in flight: one being
// filled, one hashed, one written, one spare.
const pipeDepth = 4

// chunkPool recycles the pipelines' full-size chunks.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// pipe moves size bytes from src to dst in chunks, hashing them on the way
// when h is set. Reading src (on the caller's goroutine), hashing and
// writing dst (each on a goroutine of its own) overlap, so a transfer goes
// at the pace of the slowest of the three rather than at that of their
// sum; each chunk is hashed before it is written, and the digest covers
// exactly the bytes handed to dst. progress, when set, is called from the
// writing goroutine with the bytes written so far.
//
// It returns the bytes written to dst, and the first error of either side:
// rerr from src (io.EOF or io.ErrUnexpectedEOF when it ended before size
// bytes), werr from dst. Once one side fails the other stops at its next
// chunk.
func pipe(size int64, src io.Reader, h hash.Hash, dst io.Writer, progress func(int64)) (n int64, rerr, werr error) {
	if size <= 0 {
		return 0, nil, nil
	}
	bufSize := min(size, chunkSize)
	nbuf := int(min(int64(pipeDepth), (size+bufSize-1)/bufSize))
	free := make(chan []byte, nbuf)
	for range nbuf {
		if bufSize == chunkSize {
			free <- *chunkPool.Get().(*[]byte)
		} else {
			free <- make([]byte, bufSize)
		}
	}
	// The queues hold every buffer there is, so sends on them never block.
	hashq := make(chan []byte, nbuf)
	writeq := make(chan []byte, nbuf)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(writeq)
		for b := range hashq {
			if h != nil {
				h.Write(b)
			}
			writeq <- b
		}
	}()
	go func() {
		defer wg.Done()
		for b := range writeq {
			if werr == nil {
				var m int
				m, werr = dst.Write(b)
				n += int64(m)
				if werr != nil {
					close(stop)
				} else if progress != nil {
					progress(n)
				}
			}
			free <- b[:cap(b)]
		}
	}()
	var read int64
loop:
	for read < size {
		var b []byte
		select {
		case b = <-free:
		case <-stop:
			break loop
		}
		m, err := io.ReadFull(src, b[:min(int64(len(b)), size-read)])
		read += int64(m)
		if m > 0 {
			hashq <- b[:m]
		} else {
			free <- b
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(hashq)
	wg.Wait()
	if bufSize == chunkSize {
		for range nbuf {
			b := <-free
			chunkPool.Put(&b)
		}
	}
	return n, rerr, werr
}

// A pacer sizes the pieces a transfer writes between two refreshes of the
// connection's deadline, so that a timeout bounds each stall rather than
// the whole transfer, while a fast peer gets big pieces (few system calls,
// sendfile(2) kept) and a slow one small pieces that each finish well
// within the timeout.
type pacer struct {
	ctx   context.Context
	c     *Conn
	piece int64
}

const (
	minPiece = 64 << 10
	maxPiece = 4 << 20
)

func newPacer(ctx context.Context, c *Conn) *pacer {
	return &pacer{ctx: ctx, c: c, piece: minPiece}
}

// start refreshes the write deadline (and the connection's last activity)
// before a piece and returns the size the piece may have and its start.
func (p *pacer) start(left int64) (int64, time.Time) {
	p.c.arm(p.ctx, &p.c.ww, p.c.nc.SetWriteDeadline)
	return min(p.piece, left), time.Now()
}

// done adapts the piece size to how long the last full piece took: the
// target is an eighth of the timeout (a quarter of a second without one).
func (p *pacer) done(start time.Time, full bool) {
	if !full {
		return
	}
	target := 250 * time.Millisecond
	if t := p.c.Timeout(); t > 0 {
		target = t / 8
	}
	switch took := time.Since(start); {
	case took < target/2 && p.piece < maxPiece:
		p.piece *= 2
	case took > target && p.piece > minPiece:
		p.piece /= 2
	}
}

// Write writes all of b to the connection in paced pieces.
func (p *pacer) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		k, t := p.start(int64(len(b) - written))
		m, err := p.c.nc.Write(b[written : written+int(k)])
		written += m
		if err != nil {
			return written, err
		}
		p.done(t, k == p.piece)
	}
	return written, nil
}

// sendfile sends size bytes of f to the connection in paced pieces, each
// by sendfile(2) where the system has it, calling progress after each.
// A file that ends first gives ErrShortFile.
func (p *pacer) sendfile(f *os.File, size int64, progress func(int64)) (int64, error) {
	var n int64
	for n < size {
		k, t := p.start(size - n)
		m, err := io.CopyN(p.c.nc, f, k)
		n += m
		if progress != nil && m > 0 {
			progress(n)
		}
		if err == io.EOF {
			return n, ErrShortFile
		}
		if err != nil {
			return n, err
		}
		p.done(t, k == p.piece)
	}
	return n, nil
}

// writebackWindow is how much of a received file is written before its
// writeback starts.
const writebackWindow = 8 << 20

// syncWriter writes a received file, starting the writeback of each
// window as soon as it is written and waiting for the window before it,
// so that dirty pages stay few, the disk works while bytes still come,
// and the fsync at the end finds little to do.
type syncWriter struct {
	f       *os.File
	off     int64 // bytes written
	started int64 // writeback started up to here
}

func (w *syncWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.off += int64(n)
	for w.off-w.started >= writebackWindow {
		startWriteback(w.f, w.started, writebackWindow)
		if w.started >= writebackWindow {
			awaitWriteback(w.f, w.started-writebackWindow, writebackWindow)
		}
		w.started += writebackWindow
	}
	return n, err
}

// hashPiece is the read size of hashFile: small enough to stay in the
// processor's cache between the copy and the hash.
const hashPiece = 256 << 10

// hashFile hashes the first size bytes of f into h on a goroutine of its
// own, reading with pread, so that it leaves f's offset to a sendfile
// running meanwhile. The returned wait gives its error: ErrShortFile when
// f ended first. After stop, it ends at its next piece with ErrInterrupted.
func hashFile(f *os.File, size int64, h hash.Hash) (wait func() error, stop func()) {
	done := make(chan error, 1)
	var stopped atomic.Bool
	go func() {
		buf := make([]byte, min(size, hashPiece))
		var off int64
		for off < size {
			if stopped.Load() {
				done <- ErrInterrupted
				return
			}
			m, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
			h.Write(buf[:m])
			off += int64(m)
			if err == io.EOF || (err == nil && m == 0) {
				done <- ErrShortFile
				return
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return func() error { return <-done }, func() { stopped.Store(true) }
}
