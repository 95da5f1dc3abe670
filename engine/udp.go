package engine

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MaxDatagram is the largest UDP payload over IPv4: 65535 less the IP
// header (20) and the UDP header (8).
const MaxDatagram = 65507

// A UDP is a UDP socket. Datagrams keep their boundaries: one RecvFrom
// returns one datagram, cut to the buffer's size if it was longer.
type UDP struct {
	pc      *net.UDPConn
	rmu     sync.Mutex
	timeout atomic.Int64
	closed  atomic.Bool
	tracer  atomic.Pointer[Tracer]
}

// SetTracer traces u's datagrams to t from now on (nil: no more): each is
// dumped, sent ones before they go, and is a UDP packet in t's capture.
func (u *UDP) SetTracer(t *Tracer) { u.tracer.Store(t) }

// Tracer returns the Tracer set on u, or nil.
func (u *UDP) Tracer() *Tracer { return u.tracer.Load() }

// ListenUDP opens a UDP socket bound to host:port. An empty host with port
// 0 gives an unbound client socket, as Python's socket(SOCK_DGRAM) is: the
// system picks its port.
func ListenUDP(ctx context.Context, host string, port int) (*UDP, error) {
	var lc net.ListenConfig
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, listenError(ctx, "udp", host, port, err)
	}
	return &UDP{pc: pc.(*net.UDPConn)}, nil
}

// Port returns the local port.
func (u *UDP) Port() int { return u.pc.LocalAddr().(*net.UDPAddr).Port }

// LocalAddr returns the local address.
func (u *UDP) LocalAddr() net.Addr { return u.pc.LocalAddr() }

// SetTimeout bounds each later RecvFrom; 0 or less means none.
func (u *UDP) SetTimeout(d time.Duration) { u.timeout.Store(int64(max(d, 0))) }

// Closed reports whether Close has been called.
func (u *UDP) Closed() bool { return u.closed.Load() }

// Close closes the socket; a blocked RecvFrom returns ErrClosed.
func (u *UDP) Close() error {
	if u.closed.Swap(true) {
		return nil
	}
	return u.pc.Close()
}

// SendTo sends data as one datagram to host:port. A payload over
// MaxDatagram is refused with ErrDatagramTooLarge before anything is sent.
func (u *UDP) SendTo(ctx context.Context, data []byte, host string, port int) (int, error) {
	if len(data) > MaxDatagram {
		return 0, &OpError{Op: "sendto", Err: ErrDatagramTooLarge}
	}
	if ctx.Err() != nil {
		return 0, &OpError{Op: "sendto", Err: ErrInterrupted}
	}
	var dst netip.AddrPort
	if ip, err := netip.ParseAddr(host); err == nil {
		dst = netip.AddrPortFrom(ip, uint16(port))
	} else {
		ua, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ua) == 0 {
			return 0, classify(ctx, "sendto", err)
		}
		dst = netip.AddrPortFrom(ua[0], uint16(port))
	}
	if u.pc.LocalAddr().(*net.UDPAddr).IP.To4() != nil && dst.Addr().Is6() && dst.Addr().Is4In6() {
		dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	}
	t := u.tracer.Load()
	if t != nil {
		t.dump(true, net.UDPAddrFromAddrPort(dst), -1, data)
		t.sentDatagram(localPort(u.pc.LocalAddr(), dst.Addr()), dst, data)
	}
	n, err := u.pc.WriteToUDPAddrPort(data, dst)
	if t != nil && err != nil {
		t.sendFailed(net.UDPAddrFromAddrPort(dst), int64(n), int64(len(data)), err)
	}
	return n, classify(ctx, "sendto", err)
}

// RecvFrom waits for one datagram and returns at most max bytes of it, the
// sender's address, and whether the datagram was longer than max (the
// rest is lost, as UDP does).
func (u *UDP) RecvFrom(ctx context.Context, max int) (data []byte, from netip.AddrPort, truncated bool, err error) {
	if ctx.Err() != nil {
		return nil, from, false, &OpError{Op: "recvfrom", Err: ErrInterrupted}
	}
	u.rmu.Lock()
	defer u.rmu.Unlock()
	var deadline time.Time
	if t := time.Duration(u.timeout.Load()); t > 0 {
		deadline = time.Now().Add(t)
	}
	u.pc.SetReadDeadline(deadline)
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { u.pc.SetReadDeadline(aLongTimeAgo) })
	}
	buf := make([]byte, min(max, MaxDatagram+8))
	n, _, flags, from, rerr := u.pc.ReadMsgUDPAddrPort(buf, nil)
	flags, rerr = truncFlags(flags, rerr)
	stop()
	if rerr != nil {
		return nil, from, false, classify(ctx, "recvfrom", rerr)
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if t := u.tracer.Load(); t != nil {
		t.dump(false, net.UDPAddrFromAddrPort(from), -1, buf[:n])
		t.receivedDatagram(from, localPort(u.pc.LocalAddr(), from.Addr()), buf[:n])
	}
	return buf[:n], from, flags&msgTrunc != 0, nil
}

// localPort is the address a datagram to or from peer had at our end: the
// socket's, or, for a socket bound to every address, the loopback
// address of peer's family when peer is on loopback (else the
// unspecified one: a socket call does not say which address it used).
func localPort(local net.Addr, peer netip.Addr) netip.AddrPort {
	ap := addrPort(local)
	a := ap.Addr().Unmap()
	if a.IsUnspecified() || !a.IsValid() {
		switch {
		case peer.IsLoopback() && peer.Is4():
			a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		case peer.IsLoopback():
			a = netip.IPv6Loopback()
		case peer.Is4():
			a = netip.IPv4Unspecified()
		default:
			a = netip.IPv6Unspecified()
		}
	}
	return netip.AddrPortFrom(a, ap.Port())
}
