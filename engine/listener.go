package engine

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
)

// A Listener accepts TCP connections.
type Listener struct {
	ln     *net.TCPListener
	closed atomic.Bool
}

// Listen opens a TCP listener on host:port; port 0 picks a free port.
// backlog, when positive, is the length of the kernel's queue of pending
// connections (listen(2)); otherwise the system's default is used. The
// socket has SO_REUSEADDR, as the tutorials set, so a restarted server can
// bind at once.
func Listen(ctx context.Context, host string, port, backlog int) (*Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, classify(ctx, "listen", err)
	}
	tl := ln.(*net.TCPListener)
	if backlog > 0 {
		// Go's listen(2) asks for the system's maximum queue; listening
		// again on the bound socket sets the one asked for, as Linux allows.
		if rc, err := tl.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { syscall.Listen(int(fd), backlog) })
		}
	}
	return &Listener{ln: tl}, nil
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() *net.TCPAddr { return l.ln.Addr().(*net.TCPAddr) }

// Port returns the port the listener is bound to.
func (l *Listener) Port() int { return l.Addr().Port }

// Accept waits for the next connection. Cancelling ctx interrupts it
// (ErrInterrupted); after Close it returns ErrClosed.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	if ctx.Err() != nil {
		return nil, &OpError{Op: "accept", Err: ErrInterrupted}
	}
	var stop func() bool = func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { l.ln.SetDeadline(aLongTimeAgo) })
	}
	nc, err := l.ln.Accept()
	if !stop() {
		// The deadline was cut for this call; the next one starts clean.
		l.ln.SetDeadline(noDeadline)
	}
	if err != nil {
		return nil, classify(ctx, "accept", err)
	}
	return NewConn(nc), nil
}

// Closed reports whether Close has been called.
func (l *Listener) Closed() bool { return l.closed.Load() }

// Close stops listening; a blocked Accept returns ErrClosed.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.ln.Close()
}
