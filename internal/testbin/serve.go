package testbin

import (
	"net"
	"testing"
)

// Listen returns a listener on a free loopback port, closed when the test
// ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// ServeOn runs handle for each connection ln accepts, on a goroutine of
// its own, closing the connection when handle returns, until ln closes.
// It returns at once.
func ServeOn(ln net.Listener, handle func(c net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// Serve is ServeOn on Listen(t): a loopback server for the test's
// length. It returns the listener, whose address is the server's.
func Serve(t testing.TB, handle func(c net.Conn)) net.Listener {
	t.Helper()
	ln := Listen(t)
	ServeOn(ln, handle)
	return ln
}
