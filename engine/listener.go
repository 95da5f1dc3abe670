package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// IsLoopback reports whether a server bound to host can be reached only
// from this machine: "localhost", a loopback address (127.0.0.0/8, ::1,
// ::ffff:127.x.y.z) or a unix:PATH socket. The address is parsed, not
// matched by its text: 127.example.com is a name like any other, and may
// point anywhere.
func IsLoopback(host string) bool {
	if strings.HasPrefix(host, UnixPrefix) || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// A Listener accepts TCP or Unix-domain connections, plain or TLS.
type Listener struct {
	ln     net.Listener // *net.TCPListener or *net.UnixListener
	tls    *tls.Config  // set for a TLS listener
	closed atomic.Bool
}

// deadliner is what both listener kinds offer.
type deadliner interface{ SetDeadline(time.Time) error }

// listenError is the error of a failed bind (op "listen" or "udp"), naming the address and the
// cause in words a learner can act on: "listen 127.0.0.1:9000: address in
// use" (errors.Is ErrInUse) when another program holds the port.
func listenError(ctx context.Context, op, host string, port int, err error) error {
	addr := host
	if _, ok := unixPath(host); !ok {
		addr = net.JoinHostPort(host, strconv.Itoa(port))
	}
	var dns *net.DNSError
	switch {
	case errors.Is(err, ErrInUse), errors.Is(err, ErrNoUnixSockets):
	case errors.Is(err, errAddrInUse):
		err = fmt.Errorf("%w (is an earlier run still going? stop it, or pick another port)", ErrInUse)
	case errors.Is(err, errAccess):
		err = errors.New("permission denied (ports below 1024 need root; pick a port above 1023)")
	case errors.Is(err, errAddrNotAvail):
		err = errors.New("address not available (no interface of this machine has it; 127.0.0.1 or 0.0.0.0 always work)")
	case errors.As(err, &dns):
		err = fmt.Errorf("no such host %q", host)
	default:
		if ctx.Err() != nil {
			err = ErrInterrupted
		} else if op := (*net.OpError)(nil); errors.As(err, &op) && op.Err != nil {
			err = op.Err // drop Go's "listen tcp ADDR:" prefix: the address is named already
		}
	}
	return &OpError{Op: op + " " + addr, Err: err}
}

// Listen opens a TCP listener on host:port; port 0 picks a free port.
// A host "unix:PATH" listens on a Unix socket at PATH instead (port is
// ignored; see listenUnix for a stale file). backlog, when positive, is
// the length of the kernel's queue of pending connections (listen(2));
// otherwise the system's default is used. A TCP socket has SO_REUSEADDR,
// as the tutorials set, so a restarted server can bind at once.
func Listen(ctx context.Context, host string, port, backlog int) (*Listener, error) {
	var ln net.Listener
	var err error
	if path, ok := unixPath(host); ok {
		ln, err = listenUnix(ctx, path)
	} else {
		var lc net.ListenConfig
		ln, err = lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	}
	if err != nil {
		return nil, listenError(ctx, "listen", host, port, err)
	}
	if backlog > 0 {
		// Go's listen(2) asks for the system's maximum queue; listening
		// again on the bound socket sets the one asked for, as Linux allows.
		if sc, ok := ln.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) { relisten(fd, backlog) })
			}
		}
	}
	return &Listener{ln: ln}, nil
}

// ListenTLS is Listen for TLS: every accepted connection is a TLS server
// connection with cfg (see ServerConfig), whose handshake happens at its
// first read or write, under that operation's deadline.
func ListenTLS(ctx context.Context, host string, port, backlog int, cfg *tls.Config) (*Listener, error) {
	l, err := Listen(ctx, host, port, backlog)
	if err != nil {
		return nil, err
	}
	if l.tls, err = serverKeyLog(cfg); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Port returns the TCP port the listener is bound to; 0 for a Unix socket.
func (l *Listener) Port() int {
	if a, ok := l.ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// TLS reports whether the listener's connections are TLS.
func (l *Listener) TLS() bool { return l.tls != nil }

// Accept waits for the next connection. Cancelling ctx interrupts it
// (ErrInterrupted); after Close it returns ErrClosed.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	if ctx.Err() != nil {
		return nil, &OpError{Op: "accept", Err: ErrInterrupted}
	}
	dl := l.ln.(deadliner)
	var stop func() bool = func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { dl.SetDeadline(aLongTimeAgo) })
	}
	nc, err := l.ln.Accept()
	if !stop() {
		// The deadline was cut for this call; the next one starts clean.
		dl.SetDeadline(noDeadline)
	}
	if err != nil {
		return nil, classify(ctx, "accept", err)
	}
	if l.tls != nil {
		tap := &tlsTap{Conn: nc}
		c := NewConn(tls.Server(&alertPlain{Conn: tap}, l.tls))
		c.nc.accepted, c.nc.tap = true, tap
		return c, nil
	}
	c := NewConn(nc)
	c.nc.accepted = true
	return c, nil
}

// Closed reports whether Close has been called.
func (l *Listener) Closed() bool { return l.closed.Load() }

// Close stops listening; a blocked Accept returns ErrClosed. A Unix
// socket's file is removed.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.ln.Close()
}
