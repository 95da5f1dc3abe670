package engine

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A Tracer writes every byte a traced connection sends or receives as a
// hexdump in hexdump -C layout, each chunk behind a header line:
//
//	12:00:00.000000 >> sent 5 bytes to 127.0.0.1:9000
//	00000000  68 65 6c 6c 6f                                    |hello|
//
// Received chunks read "<< received N bytes from PEER". One chunk is one
// read or write on the socket, so the bytes a buffered read takes ahead,
// and the delimiters that RecvUntil consumes, appear once, as they came.
// A Tracer is safe for many connections at once: each chunk's lines reach
// the writer in one Write, under a mutex, so chunks never interleave.
type Tracer struct {
	mu sync.Mutex
	w  io.Writer
	// Now gives the timestamps; nil means time.Now. Tests fix it.
	Now func() time.Time
}

// NewTracer returns a Tracer writing to w.
func NewTracer(w io.Writer) *Tracer { return &Tracer{w: w} }

// Dump writes one chunk: sent says the direction, peer the other end.
func (t *Tracer) Dump(sent bool, peer net.Addr, p []byte) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	buf := make([]byte, 0, 64+(len(p)+15)/16*79)
	buf = now().AppendFormat(buf, "15:04:05.000000")
	if sent {
		buf = append(buf, " >> sent "...)
	} else {
		buf = append(buf, " << received "...)
	}
	buf = strconv.AppendInt(buf, int64(len(p)), 10)
	if len(p) == 1 {
		buf = append(buf, " byte"...)
	} else {
		buf = append(buf, " bytes"...)
	}
	if sent {
		buf = append(buf, " to "...)
	} else {
		buf = append(buf, " from "...)
	}
	buf = append(buf, peerName(peer)...)
	buf = append(buf, '\n')
	buf = AppendHexdump(buf, p)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w.Write(buf)
}

// sendFailed notes that only n of the size bytes just dumped as sent
// went out, and why.
func (t *Tracer) sendFailed(peer net.Addr, n, size int, err error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	line := now().Format("15:04:05.000000") + " >> send to " + peerName(peer) + " failed after " +
		strconv.Itoa(n) + " of the " + strconv.Itoa(size) + " bytes above: " + err.Error() + "\n"
	t.mu.Lock()
	defer t.mu.Unlock()
	io.WriteString(t.w, line)
}

// peerName is how a dump names the other end.
func peerName(peer net.Addr) string {
	switch {
	case peer == nil:
		return "?"
	case peer.String() == "":
		// the client end of a Unix socket has no name
		return peer.Network()
	}
	return peer.String()
}

// AppendHexdump appends p in the layout of hexdump -C -v without its
// closing offset line: per 16 bytes the offset in 8 hex digits, two spaces,
// two groups of 8 hex bytes, and the bytes between bars with those outside
// 0x20-0x7e shown as dots. That is encoding/hex's Dump.
func AppendHexdump(buf, p []byte) []byte {
	w := bytes.NewBuffer(buf)
	d := hex.Dumper(w)
	d.Write(p)
	d.Close()
	return w.Bytes()
}

// wire is the transport under a Conn's buffer: every read and write of
// the connection goes through it, and through its Tracer when one is set.
// Without one it adds an atomic load per call.
type wire struct {
	net.Conn // the transport: a TCP, Unix or TLS connection
	tracer   atomic.Pointer[Tracer]
}

func (w *wire) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.received(p[:max(n, 0)])
	return n, err
}

// received traces bytes read from the transport, by Read or by the read
// buffer's reads of the socket itself (readBuf).
func (w *wire) received(p []byte) {
	if t := w.tracer.Load(); t != nil && len(p) > 0 {
		t.Dump(false, w.Conn.RemoteAddr(), p)
	}
}

// SyscallConn gives the read buffer the socket of a TCP or Unix
// transport, which it reads directly, tracing through received; a TLS
// transport has none.
func (w *wire) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := w.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// Write traces p before it goes out: a peer's answer can only come once
// the bytes are on the wire, so its dump, written by a reader after its
// read returns, must find the dump of what it answers already there (a
// dump after the write raced it and could show the answer first). A write
// that fails says how much of p did not go out.
func (w *wire) Write(p []byte) (int, error) {
	t := w.tracer.Load()
	if t != nil && len(p) > 0 {
		t.Dump(true, w.Conn.RemoteAddr(), p)
	}
	n, err := w.Conn.Write(p)
	if t != nil && err != nil && n < len(p) {
		t.sendFailed(w.Conn.RemoteAddr(), n, len(p), err)
	}
	return n, err
}

// ReadFrom keeps sendfile(2) and splice for untraced TCP connections;
// traced ones copy through Write, so that the bytes are shown.
func (w *wire) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := w.Conn.(io.ReaderFrom); ok && w.tracer.Load() == nil {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w}, r)
}

// CloseWrite shuts down the sending side of the transport. Over TLS it
// sends close_notify (after the handshake, which it completes if need be)
// and then shuts down the TCP side, so that TLS and plain peers alike read
// end of stream.
func (w *wire) CloseWrite() error {
	return closeWrite(w.Conn)
}

func closeWrite(nc net.Conn) error {
	if tc, ok := nc.(*tls.Conn); ok {
		return closeTLSWrite(tc)
	}
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nc.Close()
}

// writeBuffers writes bufs as net.Buffers do on the transport (one
// writev(2) on TCP and Unix sockets), traced or not: tracing must not
// change what goes out, so a traced write is the same call, dumped once,
// before it, with the total byte count.
func (w *wire) writeBuffers(bufs *net.Buffers) (int64, error) {
	t := w.tracer.Load()
	if t == nil {
		return bufs.WriteTo(w.Conn)
	}
	var all []byte
	for _, b := range *bufs {
		all = append(all, b...)
	}
	if len(all) > 0 {
		t.Dump(true, w.Conn.RemoteAddr(), all)
	}
	n, err := bufs.WriteTo(w.Conn)
	if err != nil && n < int64(len(all)) {
		t.sendFailed(w.Conn.RemoteAddr(), int(n), len(all), err)
	}
	return n, err
}

// SetTracer traces c's traffic to t from now on; nil stops tracing.
func (c *Conn) SetTracer(t *Tracer) { c.nc.tracer.Store(t) }

// Tracer returns the Tracer set on c, or nil.
func (c *Conn) Tracer() *Tracer { return c.nc.tracer.Load() }
