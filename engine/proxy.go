package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/netproto"
)

// A relay: wirelab proxy and socket.proxy.
//
// A Proxy accepts clients on a listener and connects each to its target,
// forwarding every byte both ways, in order, half-close kept: a client's
// end of stream reaches the target as a shutdown of the proxy's sending
// side, and the answer still comes back. Faults bend the wire on purpose,
// each direction on its own (Faults). Without faults, a hook or a trace, a
// direction is copied in big reads and writes, with a buffer taken only
// while bytes are in hand (copyPlain); a Set that gives it faults
// interrupts that copy and goes on with the faults from the next byte.
//
// With faults each direction has two goroutines: a reader, which takes
// what arrives and stamps it with its arrival, and a writer, which
// forwards it: later by the delay, held for the coalescing time and
// joined, cut into slices, paced by the rate, and stopped by the limits.
// So a delay shifts every chunk by the same time, whatever its neighbours
// do, as a long cable would.

// Faults bend one direction of a relayed connection. The zero value
// forwards as it comes.
type Faults struct {
	Slice      int           // forward in writes of at most Slice bytes (0: as read)
	SliceDelay time.Duration // between two slices
	Coalesce   time.Duration // hold what arrives this long, then forward it in one write
	Delay      time.Duration // forward each chunk this much after it arrived
	Jitter     time.Duration // plus up to this much more, order kept
	Rate       int64         // at most this many bytes a second (0: no limit)
	Limit      int64         // after this many bytes, close both sides
	ResetAfter int64         // after this many bytes, reset both sides
	StallAfter int64         // after this many bytes, forward nothing more, both sides kept open
}

// zero reports whether f forwards as it comes.
func (f *Faults) zero() bool { return f == nil || *f == Faults{} }

// ProxyOptions configure a Proxy.
type ProxyOptions struct {
	// Up and Down are the faults of the bytes from the client to the
	// target, and back.
	Up, Down Faults
	// Dial connects to the target.
	Dial func(ctx context.Context) (net.Conn, error)
	// Trace, when set, dumps each chunk once, as it arrived, labelled by
	// its direction, and tells each leg's life; its capture gets both legs
	// as TCP streams.
	Trace *Tracer
	// Report, when set, is told of what the proxy survives: a target it
	// could not reach, a failed accept.
	Report func(error)
	// Hooks, when set, opens each connection's hooks, before the target
	// is dialled; an error refuses the client (and is reported).
	Hooks func(s *Session) (SessionHooks, error)
	// Frames, when set, cuts what each direction reads into frames with
	// this length header, whose payloads the hooks see whole however the
	// bytes were split, and frames what they return the same way. Lines
	// does the same with lines ending in "\n" (the hooks see them without
	// it). A frame or line over MaxFrame bytes (default
	// DefaultMaxProxyFrame) closes its connection, with a report.
	Frames   *netproto.Format
	Lines    bool
	MaxFrame int64
}

// DefaultMaxProxyFrame is the default ProxyOptions.MaxFrame: 16 MiB.
const DefaultMaxProxyFrame = 16 << 20

// SessionHooks are one relayed connection's hooks.
type SessionHooks interface {
	// Connect is asked first: false refuses the client.
	Connect() bool
	// Data gets each chunk (or frame, or line) read in a direction and
	// returns the bytes to forward instead; nil forwards p as it is, an
	// empty slice nothing. An error closes the connection.
	Data(up bool, p []byte) ([]byte, error)
	// Close is told when the connection is over.
	Close()
}

// A Session is a relayed connection as hooks see it: its ends, and its
// own faults.
type Session struct {
	s      *session
	faults atomic.Pointer[[2]Faults] // nil: the proxy's
}

// Client is the client's address.
func (ss *Session) Client() net.Addr { return ss.s.client.RemoteAddr() }

// Set gives this connection faults of its own, from the next byte.
func (ss *Session) Set(up, down Faults) {
	ss.faults.Store(&[2]Faults{up, down})
	if ss.s.dirs[0] != nil {
		ss.s.changed()
	}
}

// A Proxy relays the connections of a listener to a target.
type Proxy struct {
	ln       *Listener
	o        ProxyOptions
	faults   atomic.Pointer[[2]Faults] // up, down
	conns    atomic.Int64
	up, down atomic.Int64
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	sessions map[*session]struct{}
	done     chan struct{}
}

// NewProxy relays the clients of ln to o.Dial's target until ctx ends or
// Close is called.
func NewProxy(ctx context.Context, ln *Listener, o ProxyOptions) *Proxy {
	ctx, cancel := context.WithCancel(ctx)
	p := &Proxy{ln: ln, o: o, ctx: ctx, cancel: cancel, sessions: map[*session]struct{}{}, done: make(chan struct{})}
	p.faults.Store(&[2]Faults{o.Up, o.Down})
	context.AfterFunc(ctx, func() { ln.Close() })
	go p.accept()
	return p
}

// Done is closed once the proxy has stopped and every connection it
// relayed is closed.
func (p *Proxy) Done() <-chan struct{} { return p.done }

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Port is the port the proxy listens on.
func (p *Proxy) Port() int { return p.ln.Port() }

// Set gives every connection, live ones too, new faults from the next
// byte each direction forwards.
func (p *Proxy) Set(up, down Faults) {
	p.faults.Store(&[2]Faults{up, down})
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.sessions {
		s.changed()
	}
}

// Faults returns the faults set, up and down.
func (p *Proxy) Faults() (up, down Faults) {
	f := p.faults.Load()
	return f[0], f[1]
}

// Stats returns the connections relayed so far and the bytes forwarded
// each way.
func (p *Proxy) Stats() (conns, up, down int64) { return p.conns.Load(), p.up.Load(), p.down.Load() }

// Close stops accepting and closes every relayed connection.
func (p *Proxy) Close() error {
	p.cancel()
	err := p.ln.Close()
	<-p.done
	return err
}

func (p *Proxy) report(err error) {
	if p.o.Report != nil {
		p.o.Report(err)
	}
}

func (p *Proxy) accept() {
	var wg sync.WaitGroup
	defer func() {
		p.mu.Lock()
		for s := range p.sessions {
			s.abort()
		}
		p.mu.Unlock()
		wg.Wait()
		close(p.done)
	}()
	var again retry
	for {
		nc, err := p.ln.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.report(&OpError{Op: "accept", Err: err})
			if !again.wait(p.ctx) {
				return
			}
			continue
		}
		again.reset()
		p.conns.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.serve(nc)
		}()
	}
}

// A retry paces a loop that survives failures (out of descriptors): 5 ms
// after the first, doubling up to 1 s, and 5 ms again after a success.
type retry struct{ d time.Duration }

// wait waits before the next try, or reports false when ctx ends first.
func (r *retry) wait(ctx context.Context) bool {
	r.d = min(max(2*r.d, 5*time.Millisecond), time.Second)
	t := time.NewTimer(r.d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reset is told of a success.
func (r *retry) reset() { r.d = 0 }

// A session is one relayed client: its two legs and two directions.
type session struct {
	p              *Proxy
	client, target net.Conn
	dirs           [2]*direction
	closeOnce      sync.Once
	pub            *Session
	hooks          SessionHooks // nil: none
}

// serve relays one client.
func (p *Proxy) serve(client net.Conn) {
	s := &session{p: p, client: client}
	s.pub = &Session{s: s}
	if p.o.Hooks != nil {
		h, err := p.o.Hooks(s.pub)
		if err != nil {
			p.report(err)
			client.Close()
			return
		}
		s.hooks = h
		defer h.Close()
		if !h.Connect() {
			client.Close()
			return
		}
	}
	target, err := p.o.Dial(p.ctx)
	if err != nil {
		p.report(err)
		client.Close()
		return
	}
	s.target = target
	s.dirs[0] = s.newDirection(true, client, target)
	s.dirs[1] = s.newDirection(false, target, client)
	if t := p.o.Trace; t != nil && t.capture != nil {
		// Both legs, as the proxy's end of each sees it.
		cl, cr, tl, tr := addrPort(client.LocalAddr()), addrPort(client.RemoteAddr()), addrPort(target.LocalAddr()), addrPort(target.RemoteAddr())
		if cl.IsValid() && cr.IsValid() && tl.IsValid() && tr.IsValid() {
			cs, ts := t.capture.Stream(cl, cr, false), t.capture.Stream(tl, tr, true)
			s.dirs[0].inStream, s.dirs[0].stream = cs, ts
			s.dirs[1].inStream, s.dirs[1].stream = ts, cs
		}
	}
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		client.Close()
		target.Close()
		return
	}
	p.sessions[s] = struct{}{}
	p.mu.Unlock()
	if t := p.o.Trace; t != nil {
		t.event("--", "relaying "+peerName(client.RemoteAddr())+" to "+peerName(target.RemoteAddr())+" (through "+
			peerName(client.LocalAddr())+" and "+peerName(target.LocalAddr())+")")
	}
	// The way down runs on this goroutine: a goroutine less a
	// connection, its stack the most an idle pair holds.
	up := make(chan struct{})
	go func() {
		defer close(up)
		s.dirs[0].run()
	}()
	s.dirs[1].run()
	<-up
	s.close()
	p.mu.Lock()
	delete(p.sessions, s)
	p.mu.Unlock()
}

// changed tells both directions that the faults changed.
func (s *session) changed() {
	for _, d := range s.dirs {
		d.interrupt()
	}
}

// abort ends the session at once (the proxy closes).
func (s *session) abort() { s.close() }

// close closes both legs, once.
func (s *session) close() {
	s.closeOnce.Do(func() {
		s.client.Close()
		s.target.Close()
		if t := s.p.o.Trace; t != nil {
			t.event("--", "closed "+peerName(s.client.RemoteAddr())+" to "+peerName(s.target.RemoteAddr())+": "+
				plural(s.dirs[0].sent.Load(), "byte")+" up, "+strconv64(s.dirs[1].sent.Load())+" down")
		}
		for _, d := range s.dirs {
			if d.stream != nil {
				d.stream.Close()
			}
		}
	})
}

// reset resets both legs: SO_LINGER 0, so that each close sends RST.
func (s *session) reset() {
	for _, c := range []net.Conn{s.client, s.target} {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	if t := s.p.o.Trace; t != nil {
		t.event("--", "resetting "+peerName(s.client.RemoteAddr())+" and "+peerName(s.target.RemoteAddr())+" (reset-after)")
	}
	for _, d := range s.dirs {
		if d.stream != nil {
			d.stream.Reset(false)
		}
	}
	s.close()
}

// A direction is one way through a session: from src to dst.
type direction struct {
	s        *session
	up       bool
	src, dst net.Conn
	sent     atomic.Int64  // bytes forwarded
	received atomic.Int64  // bytes read
	stream   CaptureStream // the capture of dst's leg, as seen from the proxy; nil: none
	// inStream is the capture of src's leg, whose bytes this direction
	// reads: the peer's packets there.
	inStream CaptureStream
	// partial is a frame (or line) not yet whole, with hooks and framing.
	partial []byte
}

func (s *session) newDirection(up bool, src, dst net.Conn) *direction {
	return &direction{s: s, up: up, src: src, dst: dst}
}

func (d *direction) faults() *Faults {
	f := d.s.pub.faults.Load()
	if f == nil {
		f = d.s.p.faults.Load()
	}
	if d.up {
		return &f[0]
	}
	return &f[1]
}

// interrupt stops a copy under way, so that the direction takes the new
// faults: its read's deadline is set in the past. Nothing else sets a
// deadline on a relayed connection, so a read that times out was
// interrupted, however the interruption and the read interleaved; the
// direction clears the deadline and looks at the faults again (a second
// Set whose deadline that clears has stored its faults already).
func (d *direction) interrupt() {
	d.src.SetReadDeadline(aLongTimeAgo)
}

func (d *direction) name() string {
	if d.up {
		return "up"
	}
	return "down"
}

// run forwards until the source ends, or a fault ends the session.
func (d *direction) run() {
	p := d.s.p
	for {
		var first []byte
		if p.o.Trace == nil && d.s.hooks == nil && d.faults().zero() {
			pending, err := d.copyPlain()
			switch {
			case pending != nil:
				// Faults came while these bytes were read: they go
				// with them, first.
				first = pending
			case err != nil && isTimeout(err):
				d.src.SetReadDeadline(time.Time{})
				continue // faults set: go on with them
			default:
				d.finish(err)
				return
			}
		}
		if done := d.relay(first); done {
			return
		}
	}
}

// count notes n bytes forwarded.
func (d *direction) count(n int64) {
	d.sent.Add(n)
	if d.up {
		d.s.p.up.Add(n)
	} else {
		d.s.p.down.Add(n)
	}
}

// finish ends the direction after its source ended (err nil or EOF: a
// FIN, passed on as a shutdown) or failed (a reset, passed on as one).
func (d *direction) finish(err error) {
	t := d.s.p.o.Trace
	switch {
	case err == nil || errors.Is(err, io.EOF):
		if t != nil {
			t.event(d.mark(), "FIN from "+peerName(d.src.RemoteAddr())+" after "+plural(d.received.Load(), "byte")+", passed on")
		}
		if d.inStream != nil {
			d.inStream.FinReceived()
		}
		if closeWrite(d.dst) == nil && d.stream != nil {
			d.stream.FinSent()
		}
	case errors.Is(err, errReset):
		if t != nil {
			t.event(d.mark(), "RST from "+peerName(d.src.RemoteAddr())+", passed on")
		}
		d.s.reset()
	default:
		d.s.close()
	}
}

func (d *direction) mark() string {
	if d.up {
		return ">>"
	}
	return "<<"
}

// copyPlain forwards src to dst as it comes, until src ends or fails
// (the error; nil at the end of the stream), or until faults are set
// while a read is in hand: those bytes are returned, not written, so that
// the faults apply to them. On Unix it reads through the socket's RawConn
// with a 256 KiB buffer taken only once bytes are there (an idle
// connection holds none); elsewhere through Read, 32 KiB at a time.
// Measured against socat's relay in bench/proxy.sh, Go's splice(2) path
// (io.Copy between TCP connections, through 64 KiB pipes) gave 0.82 of
// socat's throughput (5 rounds, median); reads and writes of 256 KiB 1.00.
func (d *direction) copyPlain() ([]byte, error) {
	if sc, ok := d.src.(syscall.Conn); ok && rawReads {
		if raw, err := sc.SyscallConn(); err == nil {
			return d.copyRaw(raw)
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := d.src.Read(buf)
		if n > 0 {
			d.received.Add(int64(n))
			if !d.faults().zero() {
				return append([]byte(nil), buf[:n]...), nil
			}
			m, werr := d.dst.Write(buf[:n])
			d.count(int64(m))
			if werr != nil {
				return nil, werr
			}
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return nil, err
		}
	}
}

// copyBufs are copyRaw's buffers, held only while bytes are in hand.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (d *direction) copyRaw(raw syscall.RawConn) ([]byte, error) {
	for {
		var buf *[]byte
		var n int
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			if buf == nil {
				buf = copyBufs.Get().(*[]byte)
			}
			n, rerr = readFD(fd, *buf)
			if rerr == syscall.EINTR {
				n, rerr = readFD(fd, *buf)
			}
			if rerr == syscall.EAGAIN {
				copyBufs.Put(buf)
				buf = nil
				return false
			}
			return true
		})
		switch {
		case err != nil:
		case rerr != nil:
			err = os.NewSyscallError("read", rerr)
		case n == 0:
			err = io.EOF
		}
		if err != nil {
			if buf != nil {
				copyBufs.Put(buf)
			}
			if err == io.EOF {
				err = nil
			}
			return nil, err
		}
		d.received.Add(int64(n))
		if !d.faults().zero() {
			out := append([]byte(nil), (*buf)[:n]...)
			copyBufs.Put(buf)
			return out, nil
		}
		m, werr := d.dst.Write((*buf)[:n])
		copyBufs.Put(buf)
		d.count(int64(m))
		if werr != nil {
			return nil, werr
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// A chunk is what one read brought, stamped with its arrival.
type chunk struct {
	data []byte
	at   time.Time
	err  error // the read's end: EOF or a failure; data is then empty
}

// relay forwards with faults until the source ends (true) or a Set
// takes the faults off (false: back to plain copying). first, when not
// nil, was read already and goes before anything else.
func (d *direction) relay(first []byte) bool {
	queue := make(chan chunk, 64)
	if first != nil {
		queue <- chunk{data: first, at: time.Now()}
	}
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(queue)
		buf := make([]byte, 32<<10)
		for {
			n, err := d.src.Read(buf)
			if n > 0 {
				d.received.Add(int64(n))
				at := time.Now()
				d.traceIn(buf[:n])
				outs, herr := d.hooked(buf[:n])
				if herr != nil {
					d.s.p.report(herr)
					d.s.close()
					select {
					case queue <- chunk{err: herr, at: at}:
					case <-stop:
					}
					return
				}
				for _, out := range outs {
					select {
					case queue <- chunk{data: out, at: at}:
					case <-stop:
						return
					}
				}
			}
			if err != nil {
				if isTimeout(err) {
					// A Set: let the writer drain, then look again.
					d.src.SetReadDeadline(time.Time{})
					return
				}
				select {
				case queue <- chunk{err: err, at: time.Now()}:
				case <-stop:
				}
				return
			}
		}
	}()
	w := writer{d: d}
	defer close(stop)
	for c := range queue {
		if c.err != nil {
			w.flush()
			if !w.stopped {
				d.finish(c.err)
			}
			return true
		}
		if !w.take(c, queue) {
			// A limit ended the session, or a stall: nothing more goes.
			if w.stalled {
				<-d.s.p.ctx.Done()
			}
			return true
		}
	}
	<-readerDone
	w.flush()
	return false
}

// hooked passes what a read brought through the hooks: the chunks to
// forward, copies of the read buffer. Framed, the bytes of a frame not
// yet whole wait in d.partial.
func (d *direction) hooked(p []byte) ([][]byte, error) {
	h := d.s.hooks
	if h == nil {
		return [][]byte{append([]byte(nil), p...)}, nil
	}
	o := &d.s.p.o
	if o.Frames == nil && !o.Lines {
		out, err := h.Data(d.up, p)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = p
		}
		if len(out) == 0 {
			return nil, nil
		}
		return [][]byte{append([]byte(nil), out...)}, nil
	}
	limit := o.MaxFrame
	if limit <= 0 {
		limit = DefaultMaxProxyFrame
	}
	d.partial = append(d.partial, p...)
	var outs [][]byte
	for {
		var payload []byte
		var used int
		if o.Lines {
			i := bytes.IndexByte(d.partial, '\n')
			if i < 0 {
				if int64(len(d.partial)) > limit {
					return nil, fmt.Errorf("proxy: a line of over %d bytes from %s: closing the connection", limit, peerName(d.src.RemoteAddr()))
				}
				return outs, nil
			}
			payload, used = d.partial[:i], i+1
		} else {
			hs := o.Frames.Size()
			if len(d.partial) < hs {
				return outs, nil
			}
			n, err := netproto.DecodeLength(o.Frames, d.partial[:hs], limit)
			if err != nil {
				return nil, fmt.Errorf("proxy: a frame from %s: %w: closing the connection", peerName(d.src.RemoteAddr()), err)
			}
			if int64(len(d.partial)-hs) < n {
				return outs, nil
			}
			payload, used = d.partial[hs:hs+int(n)], hs+int(n)
		}
		out, err := h.Data(d.up, payload)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = payload
		}
		var framed []byte
		if o.Lines {
			framed = append(append(framed, out...), '\n')
		} else if framed, err = netproto.AppendFrame(nil, o.Frames, out); err != nil {
			return nil, fmt.Errorf("proxy: framing what the hook returned: %w", err)
		}
		outs = append(outs, framed)
		d.partial = append(d.partial[:0], d.partial[used:]...)
	}
}

// traceIn dumps a chunk read, once, labelled by its direction, and gives
// it to the capture of its leg.
func (d *direction) traceIn(p []byte) {
	t := d.s.p.o.Trace
	if t == nil {
		return
	}
	if d.inStream != nil {
		d.inStream.Received(p)
	}
	if t.out == nil {
		return
	}
	to := d.dst.RemoteAddr()
	var buf []byte
	buf = t.header(buf, d.mark()+" "+d.name())
	buf = append(buf, plural(int64(len(p)), "byte")...)
	buf = append(buf, " from "...)
	buf = append(buf, peerName(d.src.RemoteAddr())...)
	buf = append(buf, " to "...)
	buf = append(buf, peerName(to)...)
	buf = append(buf, " at offset "...)
	buf = append(buf, strconv64(d.received.Load()-int64(len(p)))...)
	buf = append(buf, '\n')
	if t.format == TraceText {
		buf = AppendText(buf, p)
	} else {
		buf = AppendHexdump(buf, p)
	}
	t.out.write(buf)
}

// A writer forwards one direction's chunks with its faults.
type writer struct {
	d       *direction
	pending []byte // coalesced, not yet written
	stopped bool   // a limit ended the session
	stalled bool
	// rate pacing: bytes written since start
	rateStart time.Time
	rateSent  int64
	rateOf    int64
}

// take forwards c (and, when coalescing, what comes within the window),
// reporting false when a limit ended the forwarding.
func (w *writer) take(c chunk, queue chan chunk) bool {
	f := *w.d.faults()
	if f.Delay > 0 || f.Jitter > 0 {
		wait := f.Delay
		if f.Jitter > 0 {
			wait += time.Duration(rand.Int64N(int64(f.Jitter) + 1))
		}
		if !w.sleepUntil(c.at.Add(wait)) {
			return false
		}
	}
	if f.Coalesce > 0 {
		w.pending = append(w.pending, c.data...)
		timer := time.NewTimer(f.Coalesce)
		defer timer.Stop()
	hold:
		for {
			select {
			case more, ok := <-queue:
				if !ok {
					break hold
				}
				if more.err != nil {
					data := w.pending
					w.pending = nil
					if !w.write(data, f) {
						return false
					}
					w.d.finish(more.err)
					w.stopped = true
					return false
				}
				w.pending = append(w.pending, more.data...)
			case <-timer.C:
				break hold
			case <-w.d.s.p.ctx.Done():
				return false
			}
		}
		data := w.pending
		w.pending = nil
		return w.write(data, f)
	}
	return w.write(c.data, f)
}

// flush writes what coalescing holds.
func (w *writer) flush() {
	if len(w.pending) > 0 && !w.stopped {
		w.write(w.pending, *w.d.faults())
		w.pending = nil
	}
}

// sleepUntil waits until t, or the proxy's end (false).
func (w *writer) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-w.d.s.p.ctx.Done():
		return false
	}
}

// write forwards data with the slicing, rate and limits of f.
func (w *writer) write(data []byte, f Faults) bool {
	d := w.d
	// The limits: forward up to them, then act.
	for _, lim := range []struct {
		at   int64
		kind int
	}{{f.Limit, 1}, {f.ResetAfter, 2}, {f.StallAfter, 3}} {
		if lim.at <= 0 {
			continue
		}
		left := lim.at - d.sent.Load()
		if int64(len(data)) < left {
			continue
		}
		if left > 0 && !w.out(data[:left], f) {
			return false
		}
		w.stopped = true
		switch lim.kind {
		case 1:
			if t := d.s.p.o.Trace; t != nil {
				t.event(d.mark(), d.name()+" limit of "+plural(lim.at, "byte")+" reached: closing both sides")
			}
			d.s.close()
		case 2:
			d.s.reset()
		case 3:
			w.stalled = true
			if t := d.s.p.o.Trace; t != nil {
				t.event(d.mark(), d.name()+" stalled after "+plural(lim.at, "byte")+": nothing more is forwarded")
			}
		}
		return false
	}
	return w.out(data, f)
}

// out writes data, in slices and at the rate of f.
func (w *writer) out(data []byte, f Faults) bool {
	d := w.d
	for len(data) > 0 {
		n := len(data)
		if f.Slice > 0 {
			n = min(n, f.Slice)
		}
		if f.Rate > 0 {
			// Pace in pieces of a twentieth of a second's worth, so the
			// rate holds within a few per cent over any second.
			n = min(n, int(max(f.Rate/20, 1)))
			if w.rateOf != f.Rate {
				w.rateOf, w.rateStart, w.rateSent = f.Rate, time.Now(), 0
			}
			due := w.rateStart.Add(time.Duration(float64(w.rateSent) / float64(f.Rate) * float64(time.Second)))
			if !w.sleepUntil(due) {
				return false
			}
		}
		if d.stream != nil {
			d.stream.Sent(data[:n])
		}
		m, err := d.dst.Write(data[:n])
		d.count(int64(m))
		w.rateSent += int64(m)
		if err != nil {
			d.s.close()
			return false
		}
		data = data[n:]
		if len(data) > 0 && f.Slice > 0 && f.SliceDelay > 0 && !w.sleepUntil(time.Now().Add(f.SliceDelay)) {
			return false
		}
	}
	return true
}

func strconv64(n int64) string { return strconv.FormatInt(n, 10) }
