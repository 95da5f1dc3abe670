package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/netproto"
)

// aLongTimeAgo is a deadline that has passed: setting it wakes a blocked
// read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// noDeadline clears a deadline.
var noDeadline time.Time

// A Conn is a TCP (or any stream) connection with exact reads, framing and
// per-operation timeouts. Reads go through a small buffer, so the bytes a
// frame leaves behind belong to the next call. One task may read while
// another writes; concurrent readers (or writers) take turns, a whole
// operation at a time.
//
// A receive that times out, is interrupted or meets the end of the stream
// takes nothing: the bytes it read are put back in front of the buffer, in
// order, and the next receive of any kind gets them first. So do the bytes
// of a delimited read over its limit (ErrTooLong). Unrecv puts bytes back
// on purpose.
type Conn struct {
	nc     *wire      // the transport, traced when asked
	r      *readBuf   // reads nc
	pend   []byte     // bytes put back, read before r; guarded by rmu
	rmu    sync.Mutex // held by a read, guards rw
	wmu    sync.Mutex // held by a write, guards ww
	rw, ww watch
	rhead  [8]byte // readFrame's header, under rmu: a local would escape
	// whead and wvec are SendFrame's header and write vector for large
	// frames, under wmu: kept in c so that a send allocates nothing.
	whead   [8]byte
	wvec    net.Buffers
	timeout atomic.Int64 // nanoseconds; 0 means none
	closed  atomic.Bool
	// lastOp is when the latest operation, or file chunk, started
	// (sinceEpoch); requested is set once a read has completed. A server
	// tells idle connections and unfinished first requests by them.
	lastOp    atomic.Int64
	requested atomic.Bool
	// inOp counts the operations under way, blocked on the peer or not.
	inOp atomic.Int32
}

// A watch ties one direction of a connection to the context of the
// operation in progress: when that context is cancelled, the direction's
// deadline is set in the past and the blocked call returns. The watch
// stays registered while the same context keeps calling, so a handler's
// loop of reads costs no registration per call.
type watch struct {
	set      func(time.Time) error // the direction's SetReadDeadline or SetWriteDeadline
	ctx      context.Context
	stop     func() bool
	deadline int64       // the deadline last set, on lastOp's clock; 0: none
	poisoned atomic.Bool // set when a cancellation moved the deadline
	// mu orders a cancellation's callback, which runs on a goroutine of
	// its own and may come late, against arm taking up another context:
	// gen counts the contexts followed, and a callback whose context is no
	// longer followed does nothing.
	mu  sync.Mutex
	gen uint64
}

// NewConn wraps nc. The caller gives up nc: Conn.Close closes it.
func NewConn(nc net.Conn) *Conn {
	w := &wire{Conn: nc}
	c := &Conn{nc: w, r: newReadBuf(w)}
	c.rw.set, c.ww.set = w.SetReadDeadline, w.SetWriteDeadline
	c.lastOp.Store(int64(sinceEpoch()))
	return c
}

// Requested reports whether a read on c has completed: whether the peer
// has sent a whole first request.
func (c *Conn) Requested() bool { return c.requested.Load() }

// Idle returns how long c has been waiting on its peer at now: the time
// since its latest operation (or file chunk) started, while one is under
// way; 0 when none is (the handler is working, not waiting).
func (c *Conn) Idle(now time.Time) time.Duration {
	if c.inOp.Load() == 0 {
		return 0
	}
	return now.Sub(epoch) - time.Duration(c.lastOp.Load())
}

// lastOpGrain is how stale lastOp may be: a busy connection updates it
// once per grain rather than at every operation. Idle may thus read up
// to a grain long; servers act on seconds.
const lastOpGrain = time.Millisecond

// epoch is the origin of lastOp's clock, which is monotonic: a change of
// the system's clock does not make connections look idle, and reading it
// costs half of time.Now.
var epoch = time.Now()

// sinceEpoch returns the monotonic time since epoch.
func sinceEpoch() time.Duration { return time.Since(epoch) }

// completed notes a read that returned without error.
func (c *Conn) completed(err error) {
	if err == nil && !c.requested.Load() {
		c.requested.Store(true)
	}
}

// Dial connects to host:port over TCP. timeout bounds the connect (0: the
// system's own limit); cancelling ctx interrupts it.
func Dial(ctx context.Context, host string, port int, timeout time.Duration) (*Conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, dialError(ctx, net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	return NewConn(nc), nil
}

// SetTimeout sets the limit of every later blocking operation on c; 0 or
// less means none. A timed-out operation returns an error wrapping
// ErrTimeout and leaves c usable.
func (c *Conn) SetTimeout(d time.Duration) { c.timeout.Store(int64(max(d, 0))) }

// Timeout returns the limit set by SetTimeout.
func (c *Conn) Timeout() time.Duration { return time.Duration(c.timeout.Load()) }

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Closed reports whether Close has been called.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Close closes the connection; blocked operations return ErrClosed. Closing
// twice is harmless.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	err := c.nc.Close()
	// Blocked operations are over now that nc is closed.
	c.unwatch()
	return err
}

// CloseWrite shuts down the sending side where the connection supports it,
// so that the peer reads end of stream while replies can still come back.
func (c *Conn) CloseWrite() error {
	return c.nc.CloseWrite()
}

// arm prepares one operation in the direction of w, whose deadline set
// changes: it follows ctx's cancellation and sets the deadline from the
// timeout. The deadline is refreshed only when it has fallen more than a
// sixteenth of the timeout behind, so a busy loop does not reset a timer
// on every call; a timeout may thus fire up to that much early.
//
// A cancellation comes on a goroutine of its own and may come late, after
// its operation returned and the next one, under another context, began:
// the watch's generation makes such a late one do nothing, so it never
// cuts the next operation short.
func (c *Conn) arm(ctx context.Context, w *watch) {
	set := w.set
	t := c.Timeout()
	if oc, ok := ctx.(*opCtx); ok {
		// The watch follows the caller's own context, so that a loop of
		// calls with per-call timeouts registers once.
		ctx, t = oc.Context, oc.timeout
	}
	if ctx != w.ctx {
		w.mu.Lock()
		if w.stop != nil {
			w.stop()
		}
		w.gen++
		w.ctx, w.stop = ctx, nil
		if ctx.Done() != nil {
			gen := w.gen
			w.stop = context.AfterFunc(ctx, func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				if w.gen != gen {
					return // a finished operation's context, cancelled late
				}
				w.poisoned.Store(true)
				set(aLongTimeAgo)
			})
		}
		w.mu.Unlock()
	}
	since := int64(sinceEpoch())
	if since-c.lastOp.Load() >= int64(lastOpGrain) {
		c.lastOp.Store(since) // a store is a locked instruction; a load is not
	}
	var want int64 // the deadline, on lastOp's clock; 0: none
	if t > 0 {
		want = since + int64(t)
	}
	poisoned := w.poisoned.Load()
	if poisoned {
		w.poisoned.Store(false)
	}
	switch {
	case poisoned:
	case t == 0 && w.deadline == 0:
		return
	case t > 0 && w.deadline != 0 && w.deadline > want-int64(t/16) && w.deadline <= want:
		return
	}
	w.deadline = want
	if want == 0 {
		set(noDeadline)
	} else {
		set(epoch.Add(time.Duration(want)))
	}
}

// unwatch drops the watches' registrations, when the connection closes.
func (c *Conn) unwatch() {
	c.rmu.Lock()
	if c.rw.stop != nil {
		c.rw.stop()
	}
	c.rw.ctx, c.rw.stop = nil, nil
	c.rmu.Unlock()
	c.wmu.Lock()
	if c.ww.stop != nil {
		c.ww.stop()
	}
	c.ww.ctx, c.ww.stop = nil, nil
	c.wmu.Unlock()
}

// begin checks that an operation may start at all.
func (c *Conn) begin(ctx context.Context, op string) error {
	if ctx.Err() != nil {
		return &OpError{Op: op, Err: ErrInterrupted}
	}
	if c.closed.Load() {
		return &OpError{Op: op, Err: ErrClosed}
	}
	return nil
}

// lockRead starts a read: it checks that one may start, takes the read
// lock and arms the deadline. On success the caller unlocks c.rmu. The hot
// calls use it directly, as a closure costs an allocation per call.
func (c *Conn) lockRead(ctx context.Context, op string) error {
	if err := c.begin(ctx, op); err != nil {
		return err
	}
	c.rmu.Lock()
	c.inOp.Add(1)
	c.arm(ctx, &c.rw)
	return nil
}

// unlockRead ends a read that lockRead started.
func (c *Conn) unlockRead() {
	c.inOp.Add(-1)
	c.rmu.Unlock()
}

// lockWrite is lockRead for writes; the caller unlocks c.wmu.
func (c *Conn) lockWrite(ctx context.Context, op string) error {
	if err := c.begin(ctx, op); err != nil {
		return err
	}
	c.wmu.Lock()
	c.inOp.Add(1)
	c.arm(ctx, &c.ww)
	return nil
}

// unlockWrite ends a write that lockWrite started.
func (c *Conn) unlockWrite() {
	c.inOp.Add(-1)
	c.wmu.Unlock()
}

// read runs fn, a read on c.r, under the read lock, the deadline and ctx.
func (c *Conn) read(ctx context.Context, op string, fn func() error) error {
	if err := c.lockRead(ctx, op); err != nil {
		return err
	}
	defer c.unlockRead()
	err := fn()
	c.completed(err)
	return c.recvError(ctx, op, err)
}

// recvError is classify for a receive, which tells c's trace when it
// timed out.
func (c *Conn) recvError(ctx context.Context, op string, err error) error {
	err = classify(ctx, op, err)
	if err != nil && err.(*OpError).Err == ErrTimeout {
		c.timedOut()
	}
	return err
}

// write runs fn, a write on c.nc, under the write lock, the deadline and ctx.
func (c *Conn) write(ctx context.Context, op string, fn func() error) error {
	if err := c.lockWrite(ctx, op); err != nil {
		return err
	}
	defer c.unlockWrite()
	return classify(ctx, op, fn())
}

// Recv reads whatever has arrived, between 1 and max bytes, waiting only
// when nothing has. It is the raw call whose misuse makes "sticky packets":
// message boundaries are not kept. At end of stream it returns ErrClosed.
func (c *Conn) Recv(ctx context.Context, max int) ([]byte, error) {
	if max <= 0 {
		return nil, &OpError{Op: "recv", Err: ErrTooLong}
	}
	var buf []byte
	err := c.read(ctx, "recv", func() error {
		if len(c.pend) > 0 {
			buf = append([]byte(nil), c.pend[:min(len(c.pend), max)]...)
			c.consumePend(len(buf))
			return nil
		}
		if n := c.r.Buffered(); n > 0 {
			buf = make([]byte, min(n, max))
		} else {
			buf = make([]byte, min(max, 64<<10))
		}
		n, err := c.r.Read(buf)
		if n < len(buf)/2 {
			// Callers keep the slice; do not let it pin a big buffer.
			buf = append([]byte(nil), buf[:n]...)
		} else {
			buf = buf[:n]
		}
		if n > 0 {
			return nil
		}
		return err
	})
	return buf, err
}

// Read reads what has arrived, between 1 and len(p) bytes, under c's
// timeout, and io.EOF at the end of the stream: c is an io.Reader, for
// io.Copy, bufio and the like. The bytes a frame read left buffered, and
// those put back, come first.
func (c *Conn) Read(p []byte) (int, error) {
	ctx := context.Background()
	if err := c.lockRead(ctx, "recv"); err != nil {
		return 0, err
	}
	defer c.unlockRead()
	n, err := c.in().Read(p)
	if err == io.EOF {
		return n, io.EOF
	}
	c.completed(err)
	return n, c.recvError(ctx, "recv", err)
}

// Write writes all of p under c's timeout: c is an io.Writer.
func (c *Conn) Write(p []byte) (int, error) { return c.Send(context.Background(), p) }

// Unrecv puts data back in front of what c has received: the next receive
// of any kind (Recv, RecvExact, RecvFrame, RecvFile, Read, ...) gets it
// first. data is copied. It waits for a receive under way in another task
// to end.
func (c *Conn) Unrecv(data []byte) {
	c.rmu.Lock()
	c.unread(data)
	c.rmu.Unlock()
}

// Buffered returns how many received bytes c holds that no receive has
// taken yet: those put back and those read ahead.
func (c *Conn) Buffered() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return len(c.pend) + c.r.Buffered()
}

// unread puts b back in front of the pending bytes, copying it; under rmu.
func (c *Conn) unread(b []byte) {
	if len(b) == 0 {
		return
	}
	p := make([]byte, len(b)+len(c.pend))
	copy(p, b)
	copy(p[len(b):], c.pend)
	c.pend = p
}

// consumePend drops the first n pending bytes; under rmu.
func (c *Conn) consumePend(n int) {
	c.pend = c.pend[n:]
	if len(c.pend) == 0 {
		c.pend = nil
	}
}

// in returns the reader of c's received bytes: those put back first, then
// the buffer and the connection. Use it under rmu.
func (c *Conn) in() connReader { return connReader{c} }

// connReader reads a Conn's pending bytes, then its buffered reader.
type connReader struct{ c *Conn }

func (cr connReader) Read(p []byte) (int, error) {
	c := cr.c
	if len(c.pend) > 0 {
		n := copy(p, c.pend)
		c.consumePend(n)
		return n, nil
	}
	return c.r.Read(p)
}

// RecvExact reads exactly n bytes. If the stream ends or the operation
// fails first, it returns the bytes it got and the error, and those bytes
// stay buffered for the next receive.
func (c *Conn) RecvExact(ctx context.Context, n int) ([]byte, error) {
	if err := c.lockRead(ctx, "recv"); err != nil {
		return nil, err
	}
	defer c.unlockRead()
	buf, err := netproto.ReadPayload(c.in(), int64(n))
	if err != nil {
		c.unread(buf)
	}
	c.completed(err)
	return buf, c.recvError(ctx, "recv", err)
}

// RecvUntil reads up to and including delim and returns the bytes before
// it. If more than limit bytes would come before delim, it returns the
// bytes it got and ErrTooLong; if the stream ends first, the bytes it got
// and ErrClosed. Either way those bytes stay buffered. Nothing past the
// delimiter is consumed.
func (c *Conn) RecvUntil(ctx context.Context, delim []byte, limit int) ([]byte, error) {
	b, _, err := c.RecvUntilAny(ctx, [][]byte{delim}, limit, false)
	return b, err
}

// RecvUntilAny reads up to and including the first of delims to arrive
// and returns the bytes before it (with it, when keep is set) and its
// index in delims. The first to arrive is the one that ends first in the
// stream; of two that end at the same byte, the longer. The result is the
// same however the bytes are split into segments. If more than limit
// bytes would come before the delimiter, it returns the bytes it got and
// ErrTooLong; if the stream ends or the operation fails first, the bytes
// it got and the error. On every failure those bytes stay buffered for
// the next receive. Delimiters must not be empty.
func (c *Conn) RecvUntilAny(ctx context.Context, delims [][]byte, limit int, keep bool) ([]byte, int, error) {
	longest := 0
	for _, d := range delims {
		if len(d) == 0 {
			return nil, -1, &OpError{Op: "recv", Err: errors.New("empty delimiter")}
		}
		longest = max(longest, len(d))
	}
	var acc []byte
	which := -1
	err := c.read(ctx, "recv", func() error {
		for {
			chunk, fromPend, err := c.chunk()
			if err != nil {
				c.unread(acc)
				return err
			}
			// Nothing straddles while acc is empty: the chunk is searched
			// in place and only the result copied.
			old := len(acc)
			var end int
			if old == 0 {
				end, which = firstDelim(chunk, 0, delims)
			} else {
				acc = append(acc, chunk...)
				end, which = firstDelim(acc, old, delims)
			}
			if which >= 0 {
				if old == 0 {
					acc = append([]byte(nil), chunk[:end]...)
				} else {
					acc = acc[:end]
				}
				if end-len(delims[which]) > limit {
					// Only the bytes before this chunk were taken: they
					// go back, and the caller sees what is there.
					c.unread(acc[:old])
					return ErrTooLong
				}
				c.consumeChunk(fromPend, end-old)
				break
			}
			if old == 0 {
				acc = append(acc, chunk...)
			}
			c.consumeChunk(fromPend, len(chunk))
			if len(acc) > limit+longest-1 {
				// No delimiter can end now without more than limit bytes
				// before it.
				c.unread(acc)
				return ErrTooLong
			}
		}
		if !keep {
			acc = acc[:len(acc)-len(delims[which])]
		}
		return nil
	})
	if err != nil {
		which = -1
	}
	return acc, which, err
}

// chunk returns the bytes a read can take without waiting for more than
// one socket read: the pending bytes put back by a failed receive, or else
// what the read buffer holds, filled first when empty; fromPend says which.
// The bytes stay where they are until consumeChunk.
func (c *Conn) chunk() (b []byte, fromPend bool, err error) {
	if len(c.pend) > 0 {
		return c.pend, true, nil
	}
	if c.r.Buffered() == 0 {
		if _, err := c.r.Peek(1); err != nil {
			return nil, false, err
		}
	}
	b, _ = c.r.Peek(c.r.Buffered())
	return b, false, nil
}

// consumeChunk takes the first n bytes of what chunk returned.
func (c *Conn) consumeChunk(fromPend bool, n int) {
	if fromPend {
		c.consumePend(n)
	} else {
		c.r.Discard(n)
	}
}

// firstDelim finds, in b, the delimiter that ends first among those that
// end past from-1 (the bytes before from were searched before), and
// returns the index just past it and its index in delims; -1 when none.
func firstDelim(b []byte, from int, delims [][]byte) (end, which int) {
	end, which = -1, -1
	for i, d := range delims {
		start := max(0, from-len(d)+1)
		j := bytes.Index(b[start:], d)
		if j < 0 {
			continue
		}
		e := start + j + len(d)
		if which < 0 || e < end || (e == end && len(d) > len(delims[which])) {
			end, which = e, i
		}
	}
	return end, which
}

// RecvAll reads until the end of the stream and returns every byte,
// possibly none. More than limit bytes fail with ErrTooLong rather than
// being cut; a timeout or interruption fails too. On failure the bytes
// read stay buffered, and are returned with the error.
func (c *Conn) RecvAll(ctx context.Context, limit int) ([]byte, error) {
	var acc []byte
	err := c.read(ctx, "recv", func() error {
		acc = c.pend
		c.pend = nil
		for {
			if len(acc) > limit {
				c.unread(acc)
				return ErrTooLong
			}
			if len(acc) == cap(acc) {
				acc = append(acc, make([]byte, min(max(cap(acc), 4096), limit+1-len(acc)))...)[:len(acc)]
			}
			n, err := c.r.Read(acc[len(acc):cap(acc)])
			acc = acc[:len(acc)+n]
			if err == io.EOF {
				return nil
			}
			if err != nil {
				c.unread(acc)
				return err
			}
		}
	})
	return acc, err
}

// Send writes all of data, or fails: there is no partial send. It returns
// the bytes written, which are all of data when err is nil.
func (c *Conn) Send(ctx context.Context, data []byte) (int, error) {
	if err := c.lockWrite(ctx, "send"); err != nil {
		return 0, err
	}
	defer c.unlockWrite()
	n, err := c.nc.Write(data)
	return n, classify(ctx, "send", err)
}

// SendFrame writes payload behind its length packed by h, in one write
// for small payloads and without copying large ones. It allocates nothing.
func (c *Conn) SendFrame(ctx context.Context, h *netproto.Format, payload []byte) error {
	if err := netproto.CheckLength(h, len(payload)); err != nil {
		return &OpError{Op: "send", Err: err} // refused before anything waits
	}
	if err := c.lockWrite(ctx, "send"); err != nil {
		return err
	}
	defer c.unlockWrite()
	// The header is packed into c, under wmu: packed into a local array
	// it would escape, through the byte order's interface, to the heap.
	head, _ := netproto.AppendLength(c.whead[:0], h, len(payload))
	var err error
	if len(payload) < smallFrame {
		// One write, so the frame leaves in one segment. The buffer is
		// borrowed from a pool for the write only: a busy loop allocates
		// nothing and an idle connection holds no buffer.
		pb := frameBufs.Get().(*[]byte)
		b := append(append((*pb)[:0], head...), payload...)
		_, err = c.nc.Write(b)
		*pb = b[:0]
		frameBufs.Put(pb)
	} else {
		// The header and the payload go out in one writev; the vector
		// lives in c (under wmu) rather than escaping per call, and lets
		// go of payload when done.
		c.wvec = append(c.wvec[:0], head, payload)
		bufs := c.wvec
		_, err = c.nc.writeBuffers(&c.wvec)
		clear(bufs)
		c.wvec = bufs[:0]
	}
	return classify(ctx, "send", err)
}

// smallFrame is the payload size below which SendFrame copies a frame into
// one buffer rather than writing header and payload as two pieces.
const smallFrame = 4096

// frameBufs are the buffers SendFrame assembles small frames in.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, smallFrame+8); return &b }}

// SendParts writes head, then each part in turn, under one hold of the
// write side, so that nothing another task sends comes between them: a
// length header and a body made of pieces, some of them Blobs on disk.
// Pieces in memory go out together in one writev; a Blob goes out in
// chunks, the timeout applying to each stall.
func (c *Conn) SendParts(ctx context.Context, head []byte, parts []Part) error {
	if err := c.lockWrite(ctx, "send"); err != nil {
		return err
	}
	defer c.unlockWrite()
	bufs := net.Buffers{head}
	flush := func() error {
		_, err := c.nc.writeBuffers(&bufs)
		bufs = bufs[:0]
		return err
	}
	for _, p := range parts {
		if b, ok := p.(Bytes); ok {
			bufs = append(bufs, b)
			continue
		}
		if err := flush(); err != nil {
			return classify(ctx, "send", err)
		}
		if _, err := p.WriteTo(idleWriter{ctx, c, c.nc}); err != nil {
			return classify(ctx, "send", err)
		}
	}
	return classify(ctx, "send", flush())
}

// RecvFrame reads one frame whose length header is h and whose payload is
// at most max bytes. A negative or oversized length is refused once the
// header is read, before anything more (netproto.ErrBadLength,
// netproto.ErrFrameTooLarge); the header is consumed. A stream that ends
// inside the frame, or a timeout there, gives the payload bytes that came
// and ErrClosed (or ErrTimeout), and leaves the whole frame so far, header
// included, buffered.
func (c *Conn) RecvFrame(ctx context.Context, h *netproto.Format, max int64) ([]byte, error) {
	return c.RecvFrameInto(ctx, h, max, nil)
}

// RecvFrameInto is RecvFrame reading the payload into buf's storage: it
// returns buf[:0] extended by the payload, so that a loop which passes
// back the previous frame's buffer reads frames without allocating once
// the buffer is as large as they are. buf's contents are overwritten.
func (c *Conn) RecvFrameInto(ctx context.Context, h *netproto.Format, max int64, buf []byte) ([]byte, error) {
	if err := c.lockRead(ctx, "recv"); err != nil {
		return nil, err
	}
	defer c.unlockRead()
	buf, err := c.readFrame(h, max, buf[:0])
	if err == nil && buf == nil {
		buf = []byte{} // an empty frame is a frame: not nil
	}
	c.completed(err)
	return buf, c.recvError(ctx, "recv", err)
}

// readFrame is RecvFrameInto under the read lock.
func (c *Conn) readFrame(h *netproto.Format, max int64, dst []byte) ([]byte, error) {
	if buf, ok, err := c.bufferedFrame(h, max, dst); ok {
		return buf, err
	}
	head := c.rhead[:h.Size()]
	if got, err := io.ReadFull(c.in(), head); err != nil {
		c.unread(head[:got])
		return nil, err
	}
	n, err := netproto.DecodeLength(h, head, max)
	if err != nil {
		return nil, err
	}
	buf, err := netproto.AppendPayload(dst, c.in(), n)
	if err != nil {
		c.unread(append(head, buf...))
	}
	return buf, err
}

// bufferedFrame is readFrame's fast path, for a frame the read buffer holds
// whole after at most one read: it takes the frame straight from the
// buffer. ok is false, and nothing is taken, when the frame is not whole
// there (or bytes were put back); readFrame then reads it piece by piece.
func (c *Conn) bufferedFrame(h *netproto.Format, max int64, dst []byte) (buf []byte, ok bool, err error) {
	hs := h.Size()
	if len(c.pend) > 0 || hs > readBufSize {
		return nil, false, nil
	}
	if c.r.Buffered() < hs {
		if c.r.Buffered() > 0 || c.r.err != nil {
			return nil, false, nil
		}
		c.r.fill()
		if c.r.Buffered() < hs {
			return nil, false, nil // the error, if any, waits in c.r
		}
	}
	head := c.r.buf[c.r.r : c.r.r+hs]
	n, err := netproto.DecodeLength(h, head, max)
	if err != nil {
		c.r.Discard(hs) // a refused prefix is consumed
		return nil, true, err
	}
	if int64(c.r.Buffered()-hs) < n {
		return nil, false, nil
	}
	buf = append(dst, c.r.buf[c.r.r+hs:c.r.r+hs+int(n)]...)
	c.r.Discard(hs + int(n))
	return buf, true, nil
}

// RecvMsgHeader reads a message's length prefix and JSON header and checks
// them (netproto.Msg.ReadHeader); it returns the raw JSON and the body size
// the header announces, leaving the body unread.
func (c *Conn) RecvMsgHeader(ctx context.Context, m *netproto.Msg) (raw []byte, size int64, err error) {
	raw, size, _, err = c.RecvMsg(ctx, m, false)
	return raw, size, err
}

// RecvMsg reads one message of the tutorials' kind: the length prefix, the
// JSON header (checked as netproto.Msg.ReadHeader checks it) and, when
// body is set, the size bytes of body the header announces. A refused
// prefix or header is consumed; a stream that ends, or a timeout, before
// the message is whole leaves all of it buffered and returns the bytes of
// the part it was in (the header's, then the body's).
func (c *Conn) RecvMsg(ctx context.Context, m *netproto.Msg, body bool) (raw []byte, size int64, payload []byte, err error) {
	err = c.read(ctx, "recv", func() error {
		var hb [8]byte
		head := hb[:m.Length.Size()]
		if got, err := io.ReadFull(c.in(), head); err != nil {
			c.unread(head[:got])
			return err
		}
		n, err := m.DecodeLength(head)
		if err != nil {
			return err
		}
		if raw, err = netproto.ReadPayload(c.in(), n); err != nil {
			c.unread(append(head, raw...))
			return err
		}
		if size, err = netproto.ParseSize(raw, m.SizeKey, m.MaxBody); err != nil || !body {
			return err
		}
		if payload, err = netproto.ReadPayload(c.in(), size); err != nil {
			c.unread(append(append(head, raw...), payload...))
		}
		return err
	})
	return raw, size, payload, err
}

// An opCtx carries the timeout of one operation (WithOpTimeout).
type opCtx struct {
	context.Context
	timeout time.Duration
}

// WithOpTimeout returns a context under which a Conn operation is limited
// to d instead of the connection's own timeout (SetTimeout); d <= 0 means
// no limit for the operation. It takes effect only when passed to the
// operation as it is: a context derived from it has the connection's
// timeout again. Cancelling ctx interrupts the operation as usual.
func WithOpTimeout(ctx context.Context, d time.Duration) context.Context {
	if oc, ok := ctx.(*opCtx); ok {
		ctx = oc.Context
	}
	return &opCtx{Context: ctx, timeout: max(d, 0)}
}

// timeoutFor returns the limit of an operation run under ctx.
func (c *Conn) timeoutFor(ctx context.Context) time.Duration {
	if oc, ok := ctx.(*opCtx); ok {
		return oc.timeout
	}
	return c.Timeout()
}
