package engine

import (
	"context"
	"hash"
	"io"
	"os"
	"runtime"
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

// sendfile sends size bytes of f to the connection, by sendfile(2) where
// Go uses it (Linux), calling progress as bytes go. A file that ends first
// gives ErrShortFile.
//
// The timeout bounds each stall, not the whole transfer, without wrapping
// the connection (which would lose sendfile): sendfile advances f's offset
// as the peer takes bytes, and a watchdog that sees it move pushes the
// write deadline on (and the connection's last activity). Where the offset
// only moves at the end, the bytes go through idleWriter instead.
func (c *Conn) sendfile(ctx context.Context, f *os.File, size int64, progress func(int64)) (int64, error) {
	if runtime.GOOS != "linux" && runtime.GOOS != "android" {
		w := &countingWriter{w: idleWriter{ctx, c, c.nc}, fn: progress}
		n, err := io.Copy(w, io.LimitReader(f, size))
		if err == nil && n < size {
			err = ErrShortFile
		}
		return n, err
	}
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	t := c.Timeout()
	every := 250 * time.Millisecond
	if t > 0 {
		every = min(max(t/4, 10*time.Millisecond), every)
	}
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(every)
		defer tick.Stop()
		last := start
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				// After any push of ours, so that it sticks.
				c.nc.SetWriteDeadline(aLongTimeAgo)
				return
			case <-tick.C:
				off, err := f.Seek(0, io.SeekCurrent)
				if err != nil || off == last {
					continue
				}
				last = off
				// Now, not the tick's time: a tick that came late on a
				// busy machine would set a deadline already partly spent.
				now := time.Now()
				c.lastOp.Store(int64(now.Sub(epoch)))
				if t > 0 {
					c.nc.SetWriteDeadline(now.Add(t))
				}
				if progress != nil {
					progress(off - start)
				}
			}
		}
	}()
	n, err := io.CopyN(c.nc, f, size)
	close(stop)
	<-watched
	// The watchdog moved the deadline behind the watch's back.
	c.ww.deadline = 0
	if t > 0 {
		c.ww.deadline = -1 // in the past: the next arm sets it again
	}
	if progress != nil {
		progress(n)
	}
	if err == io.EOF {
		err = ErrShortFile
	}
	return n, err
}

// countingWriter reports the bytes written through it.
type countingWriter struct {
	w    io.Writer
	done int64
	fn   func(int64)
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.done += int64(n)
	if cw.fn != nil && n > 0 {
		cw.fn(cw.done)
	}
	return n, err
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
