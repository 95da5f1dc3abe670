package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// UnixPrefix marks a host that is a Unix-domain socket's path:
// "unix:/run/app.sock". The port is then ignored.
const UnixPrefix = "unix:"

// ErrInUse means a Unix socket's path is taken by a live listener, or by
// a file that is not a socket.
var ErrInUse = errors.New("address in use")

// ErrNoUnixSockets means the system has no Unix-domain sockets: Windows
// before Windows 10 version 1803, or Wine. Listening or dialing "unix:"
// fails with an error that wraps it and the system's.
var ErrNoUnixSockets = errors.New("no Unix-domain sockets on this system (Windows has them from Windows 10 version 1803): use TCP")

// unixError is err, wrapping ErrNoUnixSockets too when it says the
// system has no Unix-domain sockets.
func unixError(err error) error {
	if err != nil && noUnixSockets(err) {
		return fmt.Errorf("%w: %w", ErrNoUnixSockets, err)
	}
	return err
}

// unixPath returns the socket path of host, and whether it names one.
func unixPath(host string) (string, bool) {
	if p, ok := strings.CutPrefix(host, UnixPrefix); ok {
		return p, true
	}
	return "", false
}

// dialNet connects to host:port over TCP, or to the Unix socket that
// host names.
func dialNet(ctx context.Context, host string, port int, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if path, ok := unixPath(host); ok {
		if path == "" {
			return nil, fmt.Errorf("empty Unix socket path")
		}
		nc, err := d.DialContext(ctx, "unix", path)
		return nc, unixError(err)
	}
	return d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
}

// DialNet connects to host:port over TCP, or to the Unix socket of a
// host "unix:PATH", and returns the plain connection.
func DialNet(ctx context.Context, host string, port int, timeout time.Duration) (net.Conn, error) {
	nc, err := dialNet(ctx, host, port, timeout)
	if err != nil {
		return nil, dialError(ctx, DialAddr(host, port), err)
	}
	return nc, nil
}

// DialAny connects as Dial does, to a Unix socket when host is
// "unix:PATH", and over TLS when o is not nil (see DialTLS).
func DialAny(ctx context.Context, host string, port int, timeout time.Duration, o *TLSOptions) (*Conn, error) {
	if o != nil {
		return DialTLS(ctx, host, port, timeout, *o)
	}
	nc, err := dialNet(ctx, host, port, timeout)
	if err != nil {
		return nil, dialError(ctx, DialAddr(host, port), err)
	}
	return NewConn(nc), nil
}

// listenUnix listens on a Unix socket at path. A socket file left by a
// listener that is gone is removed first; one that a live listener holds,
// or a file that is not a socket, is left alone (ErrInUse). The file is
// removed when the listener closes.
func listenUnix(ctx context.Context, path string) (net.Listener, error) {
	if path == "" {
		return nil, fmt.Errorf("empty Unix socket path")
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%w: %s exists and is not a socket", ErrInUse, path)
		}
		d := net.Dialer{Timeout: time.Second}
		probe, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			probe.Close()
			return nil, fmt.Errorf("%w: a server listens on %s", ErrInUse, path)
		}
		if !errors.Is(err, errRefused) && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		// Stale: nobody accepts on it.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, unixError(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}
