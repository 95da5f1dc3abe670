package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A datagram relay: wirelab proxy --udp and socket.proxy{udp = true}.
//
// A UDPProxy reads datagrams on one socket and relays each, whole or not
// at all, to its target. Each client address is a session with a socket
// of its own, connected to the target, so that what the target answers
// on it goes back to the client that caused it, as a NAT does. A session
// idle for IdleTimeout (no datagram either way, none waiting) is
// forgotten; the client's next datagram starts a new one, from a new
// port.
//
// Each direction of a session has a queue and a writer goroutine. The
// fate of a datagram is drawn as it arrives (lost, sent twice, or sent
// once, its delay and jitter), so that it is dumped once with it; the
// writer sends each when due, in arrival order, and paces them by the
// rate, a datagram waiting until the link is free for it: the rate never
// cuts one, and no credit piles up while the link is idle.

// DefaultUDPIdle is how long a UDP proxy keeps a session with no traffic.
const DefaultUDPIdle = 60 * time.Second

// udpQueueLimit is how many bytes may wait in one direction of one
// session (delayed or paced); beyond it datagrams are dropped, as a
// router's full queue drops them, and the trace says so.
const udpQueueLimit = 4 << 20

// udpSocketBuffer is the receive and send buffer asked for the proxy's
// sockets: a burst that arrives while the reader is not scheduled waits
// in the kernel rather than being dropped there, unseen (the system caps
// it at net.core.rmem_max).
const udpSocketBuffer = 4 << 20

// UDPFaults bend one direction of a UDP relay. The zero value forwards
// every datagram at once.
type UDPFaults struct {
	Loss   float64       // the probability, 0 to 1, that a datagram is dropped
	Dup    float64       // the probability, 0 to 1, that it is sent twice
	Delay  time.Duration // send each datagram this much after it arrived
	Jitter time.Duration // plus up to this much more, order kept
	Rate   int64         // at most this many bytes a second (0: no limit)
}

// UDPProxyOptions configure a UDPProxy.
type UDPProxyOptions struct {
	// Up and Down are the faults of the datagrams from the clients to the
	// target, and back.
	Up, Down UDPFaults
	// Trace, when set, dumps each datagram once, as it arrived, labelled
	// by its direction and with its fate, and tells each session's life;
	// its capture gets each datagram as a UDP packet of every leg it
	// crossed.
	Trace *Tracer
	// Report, when set, is told of what the proxy survives: a target that
	// refuses datagrams, a failed read.
	Report func(error)
	// IdleTimeout is how long a session lives with no datagram either
	// way; 0 means DefaultUDPIdle.
	IdleTimeout time.Duration
}

// A UDPProxy relays the datagrams of a socket to a target, and the
// target's answers back to their clients.
type UDPProxy struct {
	pc       *net.UDPConn
	target   netip.AddrPort
	o        UDPProxyOptions
	faults   atomic.Pointer[[2]UDPFaults] // up, down
	count    atomic.Int64                 // sessions begun
	up, down atomic.Int64                 // bytes forwarded
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	sessions map[netip.AddrPort]*udpSession
	wg       sync.WaitGroup
	done     chan struct{}
}

// NewUDPProxy listens for datagrams on host:port (port 0 picks one) and
// relays them to targetHost:targetPort until ctx ends or Close is
// called. A target named by a host name is resolved once, here. The
// error is the bind's (as ListenUDP's) or the target's resolution.
func NewUDPProxy(ctx context.Context, host string, port int, targetHost string, targetPort int, o UDPProxyOptions) (*UDPProxy, error) {
	target, err := resolveUDP(ctx, targetHost, targetPort)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	c, err := lc.ListenPacket(ctx, "udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, listenError(ctx, "udp", host, port, err)
	}
	pc := c.(*net.UDPConn)
	pc.SetReadBuffer(udpSocketBuffer)
	pc.SetWriteBuffer(udpSocketBuffer)
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultUDPIdle
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &UDPProxy{pc: pc, target: target, o: o, ctx: ctx, cancel: cancel,
		sessions: map[netip.AddrPort]*udpSession{}, done: make(chan struct{})}
	p.faults.Store(&[2]UDPFaults{o.Up, o.Down})
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		p.read()
	}()
	go func() {
		defer p.wg.Done()
		p.expire()
	}()
	go func() {
		<-ctx.Done()
		pc.Close()
		p.mu.Lock()
		all := p.sessions
		p.sessions = nil // no session begins after this
		p.mu.Unlock()
		for _, s := range all {
			s.close("closed")
		}
		p.wg.Wait()
		close(p.done)
	}()
	return p, nil
}

// resolveUDP is host:port as an address to send datagrams to.
func resolveUDP(ctx context.Context, host string, port int) (netip.AddrPort, error) {
	if port < 1 || port > 65535 {
		return netip.AddrPort{}, &OpError{Op: "udp proxy", Addr: DialAddr(host, port), Err: errors.New("the target needs a port from 1 to 65535")}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		if ctx.Err() != nil {
			err = ErrInterrupted
		} else {
			err = errors.New("no such host")
		}
		return netip.AddrPort{}, &OpError{Op: "udp proxy", Addr: DialAddr(host, port), Err: err}
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(port)), nil
}

// Done is closed once the proxy has stopped and every session is closed.
func (p *UDPProxy) Done() <-chan struct{} { return p.done }

// Addr is the address the proxy receives datagrams on.
func (p *UDPProxy) Addr() net.Addr { return p.pc.LocalAddr() }

// Port is the port the proxy receives datagrams on.
func (p *UDPProxy) Port() int { return p.pc.LocalAddr().(*net.UDPAddr).Port }

// Target is the address datagrams are relayed to.
func (p *UDPProxy) Target() netip.AddrPort { return p.target }

// Set gives every session, live ones too, new faults: loss, dup, delay
// and jitter for the datagrams that arrive from now on, the rate for
// every datagram sent from now on.
func (p *UDPProxy) Set(up, down UDPFaults) { p.faults.Store(&[2]UDPFaults{up, down}) }

// Faults returns the faults set, up and down.
func (p *UDPProxy) Faults() (up, down UDPFaults) {
	f := p.faults.Load()
	return f[0], f[1]
}

// Stats returns the client sessions begun so far and the bytes forwarded
// each way (a datagram sent twice counts twice; a lost one not at all).
func (p *UDPProxy) Stats() (sessions, up, down int64) {
	return p.count.Load(), p.up.Load(), p.down.Load()
}

// Close stops relaying, closes every session and waits until all have
// ended.
func (p *UDPProxy) Close() error {
	p.cancel()
	<-p.done
	return nil
}

func (p *UDPProxy) report(err error) {
	if p.o.Report != nil {
		p.o.Report(err)
	}
}

// read takes the clients' datagrams and hands each to its session.
func (p *UDPProxy) read() {
	// 64 KiB holds the largest UDP payload (65527 bytes over IPv6), so
	// no datagram is ever cut here.
	buf := make([]byte, 1<<16)
	var again retry
	for {
		n, _, flags, from, err := p.pc.ReadMsgUDPAddrPort(buf, nil)
		flags, err = truncFlags(flags, err)
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.report(&OpError{Op: "recvfrom", Err: err})
			if !again.wait(p.ctx) {
				return
			}
			continue
		}
		again.reset()
		s := p.session(from)
		if s == nil {
			continue
		}
		if flags&msgTrunc != 0 {
			s.dirs[0].event("datagram of more than " + plural(int64(len(buf)), "byte") + " from " + s.clientName + " dropped: too large to relay whole")
			continue
		}
		s.dirs[0].arrive(buf[:n])
	}
}

// session returns the session of client, beginning one if need be; nil
// when the proxy is closing or the target's socket could not be opened
// (reported).
func (p *UDPProxy) session(client netip.AddrPort) *udpSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		return nil
	}
	if s := p.sessions[client]; s != nil {
		s.touch()
		return s
	}
	up, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(p.target))
	if err != nil {
		p.report(&OpError{Op: "udp proxy: socket to", Addr: p.target.String(), Err: err})
		return nil
	}
	up.SetReadBuffer(udpSocketBuffer)
	up.SetWriteBuffer(udpSocketBuffer)
	s := &udpSession{p: p, client: client, up: up, done: make(chan struct{}),
		clientName: net.UDPAddrFromAddrPort(unmap(client)).String(), targetName: p.target.String()}
	s.capClient, s.capListen = unmap(client), localPort(p.pc.LocalAddr(), client.Addr().Unmap())
	s.capUp, s.capTarget = localPort(up.LocalAddr(), p.target.Addr()), p.target
	s.dirs[0] = &udpDirection{s: s, up: true, from: s.clientName, to: s.targetName}
	s.dirs[1] = &udpDirection{s: s, from: s.targetName, to: s.clientName}
	for _, d := range s.dirs {
		d.queue = make(chan udpDatagram, 4096)
	}
	s.touch()
	p.sessions[client] = s
	p.count.Add(1)
	if t := p.o.Trace; t != nil {
		t.event("--", "relaying "+s.clientName+" to "+s.targetName+" (through "+peerName(p.pc.LocalAddr())+" and "+
			peerName(up.LocalAddr())+")")
	}
	p.wg.Add(3)
	go func() {
		defer p.wg.Done()
		s.readTarget()
	}()
	for _, d := range s.dirs {
		go func() {
			defer p.wg.Done()
			d.write()
		}()
	}
	return s
}

// expire forgets the sessions idle for the idle timeout.
func (p *UDPProxy) expire() {
	idle := p.o.IdleTimeout
	tick := time.NewTicker(max(idle/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-p.ctx.Done():
			return
		}
		var gone []*udpSession
		p.mu.Lock()
		for k, s := range p.sessions {
			if s.idleFor() >= idle && s.dirs[0].queued.Load() == 0 && s.dirs[1].queued.Load() == 0 {
				delete(p.sessions, k)
				gone = append(gone, s)
			}
		}
		p.mu.Unlock()
		for _, s := range gone {
			s.close("forgot")
		}
	}
}

// live is the number of sessions the proxy keeps now.
func (p *UDPProxy) live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

// unmap is a with an IPv4-mapped IPv6 address as plain IPv4.
func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }

// A udpSession is one client of a UDP proxy: its socket to the target and
// both directions.
type udpSession struct {
	p      *UDPProxy
	client netip.AddrPort // as the proxy's socket gave it: where answers go
	up     *net.UDPConn   // connected to the target
	dirs   [2]*udpDirection
	last   atomic.Int64 // when the last datagram arrived, either way (Unix nanoseconds)
	done   chan struct{}
	once   sync.Once
	// names for the trace, and the legs' addresses for the capture
	clientName, targetName                 string
	capClient, capListen, capUp, capTarget netip.AddrPort
	refused                                atomic.Bool // the target's refusal is reported once
}

func (s *udpSession) touch() { s.last.Store(time.Now().UnixNano()) }

func (s *udpSession) idleFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - s.last.Load())
}

// close ends the session, once: why is "forgot" (idle) or "closed".
func (s *udpSession) close(why string) {
	s.once.Do(func() {
		close(s.done)
		s.up.Close()
		if t := s.p.o.Trace; t != nil {
			what := why + " " + s.clientName + " to " + s.targetName
			if why == "forgot" {
				what += " after " + s.p.o.IdleTimeout.String() + " idle"
			}
			t.event("--", what+": "+plural(s.dirs[0].sent.Load(), "byte")+" up, "+strconv64(s.dirs[1].sent.Load())+" down")
		}
	})
}

// readTarget takes the target's datagrams to the session's socket and
// hands them to the down direction.
func (s *udpSession) readTarget() {
	buf := make([]byte, 1<<16)
	for {
		n, _, flags, _, err := s.up.ReadMsgUDPAddrPort(buf, nil)
		flags, err = truncFlags(flags, err)
		switch {
		case err == nil:
		case errors.Is(err, errRefused):
			// The ICMP port unreachable of an earlier send: said once, and
			// the session goes on (the target may start listening).
			s.refusedBy()
			continue
		case errors.Is(err, net.ErrClosed):
			return
		default:
			select {
			case <-s.done:
			default:
				s.p.report(&OpError{Op: "recv", Addr: s.targetName, Err: err})
				s.close("closed")
			}
			return
		}
		if flags&msgTrunc != 0 {
			s.dirs[1].event("datagram of more than " + plural(int64(len(buf)), "byte") + " from " + s.targetName + " dropped: too large to relay whole")
			continue
		}
		s.touch()
		s.dirs[1].arrive(buf[:n])
	}
}

// refusedBy tells, once a session, that the target refuses datagrams.
func (s *udpSession) refusedBy() {
	if s.refused.Swap(true) {
		return
	}
	s.dirs[0].event("the target " + s.targetName + " refuses datagrams (ICMP port unreachable: nothing listens there)")
	s.p.report(&OpError{Op: "send", Addr: s.targetName, Err: errNothingListens})
}

// A udpDirection is one way through a session.
type udpDirection struct {
	s        *udpSession
	up       bool
	from, to string
	queue    chan udpDatagram
	queued   atomic.Int64 // bytes waiting in queue
	sent     atomic.Int64 // bytes forwarded
	free     time.Time    // the rate: when the link is free for the next datagram (writer only)
}

// A udpDatagram is one datagram waiting: when it is due, and how many
// times it goes.
type udpDatagram struct {
	data   []byte
	due    time.Time
	copies int
}

func (d *udpDirection) faults() *UDPFaults {
	f := d.s.p.faults.Load()
	if d.up {
		return &f[0]
	}
	return &f[1]
}

func (d *udpDirection) mark() string {
	if d.up {
		return ">>"
	}
	return "<<"
}

func (d *udpDirection) name() string {
	if d.up {
		return "up"
	}
	return "down"
}

// event writes a line of the session's life, marked by the direction.
func (d *udpDirection) event(what string) {
	if t := d.s.p.o.Trace; t != nil {
		t.event(d.mark(), what)
	}
}

// arrive takes one datagram that came in (p is the reader's buffer):
// draws its fate, dumps it with it, gives it to the capture of the leg it
// came by, and queues it. Only one goroutine calls it per direction, so
// the queue's room it sees is not taken by another.
func (d *udpDirection) arrive(p []byte) {
	f := *d.faults()
	now := time.Now()
	copies, fate := 1, ""
	switch {
	case f.Loss > 0 && rand.Float64() < f.Loss:
		copies, fate = 0, "dropped (loss)"
	case f.Dup > 0 && rand.Float64() < f.Dup:
		copies, fate = 2, "sent twice (dup)"
	}
	if copies > 0 && (d.queued.Load()+int64(len(p)) > udpQueueLimit || len(d.queue) == cap(d.queue)) {
		copies, fate = 0, "dropped (queue full: "+plural(d.queued.Load(), "byte")+" waiting)"
	}
	d.trace(p, fate)
	if copies == 0 {
		return
	}
	due := now.Add(f.Delay)
	if f.Jitter > 0 {
		due = due.Add(time.Duration(rand.Int64N(int64(f.Jitter) + 1)))
	}
	d.queued.Add(int64(len(p)))
	select {
	case d.queue <- udpDatagram{data: append([]byte(nil), p...), due: due, copies: copies}:
	case <-d.s.done:
	}
}

// trace dumps a datagram that arrived, once, with its fate, and gives it
// to the capture as a packet of the leg it came by.
func (d *udpDirection) trace(p []byte, fate string) {
	t := d.s.p.o.Trace
	if t == nil {
		return
	}
	s := d.s
	if d.up {
		t.receivedDatagram(s.capClient, s.capListen, p)
	} else {
		t.receivedDatagram(s.capTarget, s.capUp, p)
	}
	if t.out == nil {
		return
	}
	buf := make([]byte, 0, 100+len(p)*4)
	buf = t.header(buf, d.mark()+" "+d.name())
	buf = append(buf, plural(int64(len(p)), "byte")...)
	buf = append(buf, " from "...)
	buf = append(buf, d.from...)
	buf = append(buf, " to "...)
	buf = append(buf, d.to...)
	if fate != "" {
		buf = append(buf, ", "...)
		buf = append(buf, fate...)
	}
	buf = append(buf, '\n')
	if t.format == TraceText {
		buf = AppendText(buf, p)
	} else {
		buf = AppendHexdump(buf, p)
	}
	t.out.write(buf)
}

// write sends the direction's datagrams as they fall due, until the
// session ends.
func (d *udpDirection) write() {
	for {
		select {
		case g := <-d.queue:
			ok := d.sleepUntil(g.due)
			for i := 0; ok && i < g.copies; i++ {
				if rate := d.faults().Rate; rate > 0 {
					// The link carries one datagram at a time: this one
					// goes when the one before has had its time.
					now := time.Now()
					if d.free.Before(now) {
						d.free = now
					}
					if ok = d.sleepUntil(d.free); !ok {
						break
					}
					d.free = d.free.Add(time.Duration(float64(len(g.data)) / float64(rate) * float64(time.Second)))
				}
				d.send(g.data)
			}
			d.queued.Add(-int64(len(g.data)))
			if !ok {
				return
			}
		case <-d.s.done:
			return
		}
	}
}

// sleepUntil waits until t, or the session's end (false).
func (d *udpDirection) sleepUntil(t time.Time) bool {
	wait := time.Until(t)
	if wait <= 0 {
		return true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-d.s.done:
		return false
	}
}

// send sends one datagram on the leg ahead, its packet in the capture
// first (an answer's packet must not come before it). It is counted
// before it goes, too, and uncounted if the send fails: stats read once
// the answer has come include what was answered.
func (d *udpDirection) send(data []byte) {
	s, p := d.s, d.s.p
	d.count(int64(len(data)))
	var err error
	if d.up {
		if t := p.o.Trace; t != nil {
			t.sentDatagram(s.capUp, s.capTarget, data)
		}
		_, err = s.up.Write(data)
	} else {
		if t := p.o.Trace; t != nil {
			t.sentDatagram(s.capListen, s.capClient, data)
		}
		_, err = p.pc.WriteToUDPAddrPort(data, s.client)
	}
	if err != nil {
		d.count(-int64(len(data)))
	}
	switch {
	case err == nil:
	case d.up && errors.Is(err, errRefused):
		s.refusedBy()
	case errors.Is(err, net.ErrClosed):
	default:
		d.event("send " + plural(int64(len(data)), "byte") + " to " + d.to + " failed: " + err.Error())
		p.report(&OpError{Op: "send", Addr: d.to, Err: err})
	}
}

// count adds n bytes to those forwarded.
func (d *udpDirection) count(n int64) {
	d.sent.Add(n)
	if d.up {
		d.s.p.up.Add(n)
	} else {
		d.s.p.down.Add(n)
	}
}
