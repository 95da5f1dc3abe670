package engine

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/engine/capture"
)

// A Tracer writes every byte a traced connection sends or receives, each
// chunk behind a header line, as a hexdump in hexdump -C layout or, with
// TraceText, as escaped text:
//
//	12:00:00.000000 >> sent 5 bytes to 127.0.0.1:9000 at offset 0
//	00000000  68 65 6c 6c 6f                                    |hello|
//
// Received chunks read "<< received N bytes from PEER at offset K", K
// being the stream offset of the chunk's first byte in its direction. One
// chunk is one system call on the socket: one read, one write, writev or
// sendfile (a send of several pieces is one chunk with the total count),
// so the bytes a buffered read takes ahead, and the delimiters that
// RecvUntil consumes, appear once, as they came. Lines in the same layout
// tell the connection's life: "-- connected to PEER from LOCAL" (or
// "-- accepted PEER on LOCAL"), "<< FIN from PEER" (its end of stream),
// ">> FIN to PEER" (our shutdown), "<< RST from PEER" (a reset), "-- closed
// PEER", and "<< receive from PEER timed out".
//
// A Tracer is safe for many connections at once: each chunk's lines reach
// the writer in one Write, under a mutex shared by every Tracer of that
// writer, so chunks never interleave. With a Capture it also hands each
// connection's traffic to a capture file, as packets.
type Tracer struct {
	out     *traceOut // nil: no dumps, the capture only
	format  TraceFormat
	capture Capture
	// Now gives the timestamps; nil means time.Now. Tests fix it.
	Now func() time.Time
}

// traceOut is a trace's writer and the lock that keeps its chunks whole.
type traceOut struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *traceOut) write(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Write(b)
}

// TraceFormat is how a Tracer shows bytes.
type TraceFormat int

const (
	// TraceHex is hexdump -C's layout.
	TraceHex TraceFormat = iota
	// TraceText is the bytes as text, as socat -v shows them: printable
	// ASCII as it is, \r, \n, \t and \\ escaped, every other byte as \ddd
	// (decimal, as Lua writes it); a line ends after each \n, and is
	// broken after 100 columns.
	TraceText
)

// NewTracer returns a Tracer writing hexdumps to w.
func NewTracer(w io.Writer) *Tracer { return &Tracer{out: &traceOut{w: w}} }

// CaptureTracer returns a Tracer that writes no dumps, only the capture.
func CaptureTracer(c Capture) *Tracer { return &Tracer{capture: c} }

// WithFormat returns a Tracer like t that shows bytes in format f. The two
// share t's writer and its lock.
func (t *Tracer) WithFormat(f TraceFormat) *Tracer {
	u := *t
	u.format = f
	return &u
}

// WithCapture returns a Tracer like t that also hands every connection's
// traffic to c (nil: none).
func (t *Tracer) WithCapture(c Capture) *Tracer {
	u := *t
	u.capture = c
	return &u
}

// Capturing returns the capture t hands traffic to, or nil.
func (t *Tracer) Capturing() Capture { return t.capture }

// A Capture receives traced traffic as packets: a capture file
// (engine/capture) satisfies it.
type Capture interface {
	// Stream begins a TCP connection between local and remote; outbound
	// when we connected.
	Stream(local, remote netip.AddrPort, outbound bool) CaptureStream
	// Datagram is one UDP datagram from src to dst.
	Datagram(src, dst netip.AddrPort, payload []byte)
}

// A CaptureStream is one connection of a Capture, in the calls that
// crossed it.
type CaptureStream interface {
	Sent(p []byte)
	Received(p []byte)
	FinSent()
	FinReceived()
	Reset(byPeer bool)
	Close()
	Mark(text string)
	// Hold keeps the peer's packets back until Release, written before
	// our next packet (a TLS handshake, whose keys are known only after
	// the peer's flight is read: the keys must come first in the file).
	Hold()
	Release()
}

// A FileCapture is a capture file as a Capture. When both ends of a
// connection are this process's and traced into the same file (a script
// talking to its own server), the connection is one stream: the end
// traced second feeds the first end's stream with its sends as the
// peer's, and the first end's reads add nothing, so every byte is one
// packet, in the sizes of the send calls that made it. Likewise a
// datagram between two of the process's UDP sockets is the sender's one
// packet.
type FileCapture struct {
	f       *capture.File
	mu      sync.Mutex
	streams map[[2]netip.AddrPort]*pairedStream // open streams by (local, remote)
	ours    map[netip.AddrPort]bool             // addresses our UDP sockets sent from
}

// Close closes the file.
func (c *FileCapture) Close() error { return c.f.Close() }

// AddSecrets writes TLS key log lines into the file.
func (c *FileCapture) AddSecrets(keylog []byte) { c.f.AddSecrets(keylog) }

// NewFileCapture makes f a Capture; one per file.
func NewFileCapture(f *capture.File) *FileCapture {
	return &FileCapture{f: f, streams: map[[2]netip.AddrPort]*pairedStream{}, ours: map[netip.AddrPort]bool{}}
}

// Stream implements Capture.
func (c *FileCapture) Stream(local, remote netip.AddrPort, outbound bool) CaptureStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, ok := c.streams[[2]netip.AddrPort{remote, local}]; ok && !first.paired.Load() {
		first.paired.Store(true)
		return &mirrorStream{first: first}
	}
	s := &pairedStream{Stream: c.f.TCP(local, remote, outbound), c: c, key: [2]netip.AddrPort{local, remote}}
	c.streams[s.key] = s
	return s
}

// Datagram implements Capture.
func (c *FileCapture) Datagram(src, dst netip.AddrPort, payload []byte) {
	c.f.UDP(src, dst, payload)
}

// sentDatagram records a datagram about to be sent, before the send,
// and notes src as ours, so that its receipt by a socket of ours adds
// nothing.
func (c *FileCapture) sentDatagram(src, dst netip.AddrPort, payload []byte) {
	c.mu.Lock()
	c.ours[src] = true
	c.mu.Unlock()
	c.f.UDP(src, dst, payload)
}

// receivedDatagram records a datagram received, unless one of our
// sockets sent it.
func (c *FileCapture) receivedDatagram(src, dst netip.AddrPort, payload []byte) {
	c.mu.Lock()
	ours := c.ours[src]
	c.mu.Unlock()
	if !ours {
		c.f.UDP(src, dst, payload)
	}
}

// A pairedStream is a connection's stream, which the end traced second
// may join (paired): its own reads are then that end's sends.
type pairedStream struct {
	*capture.Stream
	c      *FileCapture
	key    [2]netip.AddrPort
	paired atomic.Bool
	ended  atomic.Int32 // ends closed: 2 with a pair, 1 without
}

func (s *pairedStream) Received(p []byte) {
	if !s.paired.Load() {
		s.Stream.Received(p)
	}
}

func (s *pairedStream) FinReceived() {
	if !s.paired.Load() {
		s.Stream.FinReceived()
	}
}

// Close is our end's close: with a pair, our FIN, the stream going on
// until the other end closes too.
func (s *pairedStream) Close() {
	if s.paired.Load() {
		s.Stream.FinSent()
	} else {
		s.Stream.Close()
	}
	s.end()
}

// end forgets the stream once every end of it is closed, and closes it.
func (s *pairedStream) end() {
	n := s.ended.Add(1)
	if s.paired.Load() && n < 2 {
		return
	}
	s.Stream.Close()
	s.c.mu.Lock()
	if s.c.streams[s.key] == s {
		delete(s.c.streams, s.key)
	}
	s.c.mu.Unlock()
}

// A mirrorStream is the second end of a paired stream: what it sends, the
// first end receives.
type mirrorStream struct{ first *pairedStream }

func (m *mirrorStream) Sent(p []byte)   { m.first.Stream.Received(p) }
func (m *mirrorStream) Received([]byte) {}
func (m *mirrorStream) FinSent()        { m.first.Stream.FinReceived() }
func (m *mirrorStream) FinReceived()    {}
func (m *mirrorStream) Reset(byPeer bool) {
	if !byPeer {
		m.first.Stream.Reset(true)
	}
}
func (m *mirrorStream) Close()           { m.first.Stream.FinReceived(); m.first.end() }
func (m *mirrorStream) Mark(text string) { m.first.Stream.Mark(text) }
func (m *mirrorStream) Hold()            {}
func (m *mirrorStream) Release()         {}

func (t *Tracer) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// header appends a line's timestamp and its direction's mark.
func (t *Tracer) header(buf []byte, mark string) []byte {
	buf = t.now().AppendFormat(buf, "15:04:05.000000")
	return append(append(append(buf, ' '), mark...), ' ')
}

// Dump writes one chunk of a datagram socket (no stream offset): sent
// says the direction, peer the other end.
func (t *Tracer) Dump(sent bool, peer net.Addr, p []byte) { t.dump(sent, peer, -1, p) }

// Datagram traces one UDP datagram between local and peer: its dump, and
// its packet in the capture. A sent one is traced before it goes.
func (t *Tracer) Datagram(sent bool, local, peer net.Addr, p []byte) {
	t.dump(sent, peer, -1, p)
	l, r := addrPort(local), addrPort(peer)
	if !l.IsValid() || !r.IsValid() {
		return
	}
	l = localPort(local, r.Addr())
	if sent {
		t.sentDatagram(l, r, p)
	} else {
		t.receivedDatagram(r, l, p)
	}
}

func (t *Tracer) sentDatagram(src, dst netip.AddrPort, p []byte) {
	switch c := t.capture.(type) {
	case nil:
	case *FileCapture:
		c.sentDatagram(src, dst, p)
	default:
		c.Datagram(src, dst, p)
	}
}

func (t *Tracer) receivedDatagram(src, dst netip.AddrPort, p []byte) {
	switch c := t.capture.(type) {
	case nil:
	case *FileCapture:
		c.receivedDatagram(src, dst, p)
	default:
		c.Datagram(src, dst, p)
	}
}

// dump writes one chunk; off is the stream offset of its first byte, -1
// for a datagram.
func (t *Tracer) dump(sent bool, peer net.Addr, off int64, p []byte) {
	if t.out == nil {
		return
	}
	t.out.write(t.appendChunk(nil, sent, peer, off, int64(len(p)), p))
}

// appendChunk appends a chunk's header for size bytes, and p shown.
func (t *Tracer) appendChunk(buf []byte, sent bool, peer net.Addr, off, size int64, p []byte) []byte {
	if buf == nil {
		buf = make([]byte, 0, 80+len(p)*4)
	}
	if sent {
		buf = t.header(buf, ">> sent")
	} else {
		buf = t.header(buf, "<< received")
	}
	buf = strconv.AppendInt(buf, size, 10)
	if size == 1 {
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
	if off >= 0 {
		buf = append(buf, " at offset "...)
		buf = strconv.AppendInt(buf, off, 10)
	}
	buf = append(buf, '\n')
	if t.format == TraceText {
		return AppendText(buf, p)
	}
	return AppendHexdump(buf, p)
}

// event writes one line of the connection's life: mark, then what.
func (t *Tracer) event(mark, what string) {
	if t.out == nil {
		return
	}
	buf := t.header(make([]byte, 0, 40+len(what)), mark)
	buf = append(append(buf, what...), '\n')
	t.out.write(buf)
}

// sendFailed notes that only n of the size bytes just dumped as sent
// went out, and why.
func (t *Tracer) sendFailed(peer net.Addr, n, size int64, err error) {
	t.event(">>", "send to "+peerName(peer)+" failed after "+strconv.FormatInt(n, 10)+" of the "+
		strconv.FormatInt(size, 10)+" bytes above: "+err.Error())
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

// AppendText appends p as TraceText shows it.
func AppendText(buf, p []byte) []byte {
	col := 0
	for _, c := range p {
		start := len(buf)
		switch {
		case c == '\n':
			buf = append(buf, '\\', 'n', '\n')
			col = 0
			continue
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c == '\\':
			buf = append(buf, '\\', '\\')
		case c >= 0x20 && c < 0x7f:
			buf = append(buf, c)
		default:
			buf = append(buf, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		}
		if col += len(buf) - start; col >= 100 {
			buf = append(buf, '\n')
			col = 0
		}
	}
	if col > 0 {
		buf = append(buf, '\n')
	}
	return buf
}

// addrPort is a TCP or UDP address as a netip.AddrPort; invalid for others.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// wire is the transport under a Conn's buffer: every read and write of
// the connection goes through it, and through its trace when one is set.
// It counts the bytes each way, traced or not, so that a trace begun late
// still gives true stream offsets. Without a trace it adds an atomic load
// and an atomic add per call.
type wire struct {
	net.Conn // the transport: a TCP, Unix or TLS connection
	trace    atomic.Pointer[connTrace]
	sent     atomic.Int64 // bytes written so far
	received atomic.Int64 // bytes read so far
	accepted bool         // the peer connected to us
	tap      *tlsTap      // the TCP socket under TLS, for a capture; nil for plain
	holding  atomic.Bool  // the capture holds the peer's packets until the handshake ends
	// Each ending is told once.
	finIn, finOut, reset, closed atomic.Bool
}

// A connTrace is a connection's trace: its Tracer and its stream in the
// Tracer's capture.
type connTrace struct {
	t      *Tracer
	stream CaptureStream // nil: no capture
	// raw: the stream's bytes come from beneath TLS (tlsTap), not from
	// the plaintext the wire sees; the wire gives it the ends only.
	raw bool
}

func (w *wire) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.shaken()
	w.readDone(p[:max(n, 0)], err)
	return n, err
}

// readDone counts and traces what one read of the transport brought, by
// Read or by the read buffer's reads of the socket itself (readBuf), and
// how it ended: the peer's end of stream, or a reset.
func (w *wire) readDone(p []byte, err error) {
	off := w.received.Add(int64(len(p))) - int64(len(p))
	ct := w.trace.Load()
	if ct == nil {
		return
	}
	if len(p) > 0 {
		ct.t.dump(false, w.Conn.RemoteAddr(), off, p)
		if ct.stream != nil && !ct.raw {
			ct.stream.Received(p)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if !w.finIn.Swap(true) {
			ct.t.event("<<", "FIN from "+peerName(w.Conn.RemoteAddr())+": end of stream after "+plural(off+int64(len(p)), "byte"))
			if ct.stream != nil {
				ct.stream.FinReceived()
			}
		}
	case errors.Is(err, errReset):
		w.resetBy(ct, err)
	}
}

// resetBy tells the peer's reset, once.
func (w *wire) resetBy(ct *connTrace, err error) {
	if w.reset.Swap(true) {
		return
	}
	ct.t.event("<<", "RST from "+peerName(w.Conn.RemoteAddr())+": connection reset by peer after "+
		plural(w.sent.Load(), "byte")+" sent and "+strconv.FormatInt(w.received.Load(), 10)+" received")
	if ct.stream != nil {
		ct.stream.Reset(true)
	}
}

// plural is "1 byte", "2 bytes".
func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// SyscallConn gives the read buffer the socket of a TCP or Unix
// transport, which it reads directly, tracing through readDone; a TLS
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
	ct := w.trace.Load()
	if ct != nil && len(p) > 0 {
		ct.sending(w.Conn.RemoteAddr(), w.sent.Load(), p)
	}
	n, err := w.Conn.Write(p)
	w.shaken()
	w.wrote(ct, int64(n), int64(len(p)), err)
	return n, err
}

// sending dumps and captures p before it goes out, so that the dump and
// the packet of an answer never come before those of what it answers.
func (ct *connTrace) sending(peer net.Addr, off int64, p []byte) {
	ct.t.dump(true, peer, off, p)
	if ct.stream != nil && !ct.raw {
		ct.stream.Sent(p)
	}
}

// wrote counts n bytes of a send of size gone out, and tells its
// failure: in the dump, and on the capture's next packet, since the
// packet of the whole send is already there.
func (w *wire) wrote(ct *connTrace, n, size int64, err error) {
	w.sent.Add(n)
	if ct == nil {
		return
	}
	if err != nil && n < size {
		ct.t.sendFailed(w.Conn.RemoteAddr(), n, size, err)
		if ct.stream != nil {
			ct.stream.Mark("the send above failed after " + strconv.FormatInt(n, 10) + " of its " +
				strconv.FormatInt(size, 10) + " bytes: " + err.Error())
		}
		if errors.Is(err, errReset) {
			w.resetBy(ct, err)
		}
	}
}

// ReadFrom keeps sendfile(2) and splice, traced or not. Traced, a file's
// bytes are dumped before they go, read for the dump with pread from where
// the file stands, and the socket still gets one sendfile: a trace changes
// no system call. Other readers, traced, go through Write.
func (w *wire) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.Conn.(io.ReaderFrom)
	ct := w.trace.Load()
	if ct == nil && ok {
		n, err := rf.ReadFrom(r)
		w.sent.Add(n)
		return n, err
	}
	lr, limited := r.(*io.LimitedReader)
	if ok && limited {
		if f, isFile := lr.R.(*os.File); isFile {
			return w.sendFileTraced(ct, rf, lr, f)
		}
	}
	return io.Copy(struct{ io.Writer }{w}, r)
}

// sendFileTraced is ReadFrom of a traced file: one dump of the bytes the
// call is to send, then the call.
func (w *wire) sendFileTraced(ct *connTrace, rf io.ReaderFrom, lr *io.LimitedReader, f *os.File) (int64, error) {
	pos, err := f.Seek(0, io.SeekCurrent)
	size := lr.N
	if fi, serr := f.Stat(); err == nil && serr == nil && fi.Mode().IsRegular() {
		size = min(size, max(fi.Size()-pos, 0))
	} else {
		return io.Copy(struct{ io.Writer }{w}, lr)
	}
	ct.t.dumpFile(w.Conn.RemoteAddr(), w.sent.Load(), f, pos, size, ct.stream)
	n, err := rf.ReadFrom(lr)
	w.wrote(ct, n, size, err)
	return n, err
}

// dumpFile dumps size bytes of f from pos as one chunk sent, reading
// them in pieces, under the writer's lock for the whole chunk, and gives
// them to stream, if any.
func (t *Tracer) dumpFile(peer net.Addr, off int64, f *os.File, pos, size int64, stream CaptureStream) {
	if t.out == nil && stream == nil {
		return
	}
	if t.out != nil {
		t.out.mu.Lock()
		defer t.out.mu.Unlock()
		t.out.w.Write(t.appendChunk(nil, true, peer, off, size, nil))
	}
	var hexw io.WriteCloser
	if t.out != nil && t.format == TraceHex {
		hexw = hex.Dumper(t.out.w)
	}
	buf := make([]byte, min(size, 64<<10))
	for done := int64(0); done < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-done)], pos+done)
		if n > 0 {
			switch {
			case hexw != nil:
				hexw.Write(buf[:n])
			case t.out != nil:
				t.out.w.Write(AppendText(nil, buf[:n]))
			}
			if stream != nil {
				stream.Sent(buf[:n])
			}
		}
		done += int64(n)
		if err != nil {
			break
		}
	}
	if hexw != nil {
		hexw.Close()
	}
}

// CloseWrite shuts down the sending side of the transport. Over TLS it
// sends close_notify (after the handshake, which it completes if need be)
// and then shuts down the TCP side, so that TLS and plain peers alike read
// end of stream.
func (w *wire) CloseWrite() error {
	err := closeWrite(w.Conn)
	w.shaken()
	if ct := w.trace.Load(); ct != nil && err == nil && !w.finOut.Swap(true) {
		ct.t.event(">>", "FIN to "+peerName(w.Conn.RemoteAddr())+": shutdown after "+plural(w.sent.Load(), "byte")+" sent")
		if ct.stream != nil {
			ct.stream.FinSent()
		}
	}
	return err
}

// Close closes the transport, and tells the trace.
func (w *wire) Close() error {
	err := w.Conn.Close()
	if ct := w.trace.Load(); ct != nil && !w.closed.Swap(true) {
		ct.t.event("--", "closed "+peerName(w.Conn.RemoteAddr())+": "+plural(w.sent.Load(), "byte")+" sent, "+
			strconv.FormatInt(w.received.Load(), 10)+" received")
		if ct.stream != nil {
			ct.stream.Close()
		}
	}
	return err
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
	ct := w.trace.Load()
	if ct == nil {
		n, err := bufs.WriteTo(w.Conn)
		w.sent.Add(n)
		return n, err
	}
	var all []byte
	for _, b := range *bufs {
		all = append(all, b...)
	}
	if len(all) > 0 {
		ct.sending(w.Conn.RemoteAddr(), w.sent.Load(), all)
	}
	n, err := bufs.WriteTo(w.Conn)
	w.shaken()
	w.wrote(ct, n, int64(len(all)), err)
	return n, err
}

// SetTracer traces c's traffic to t from now on; nil stops tracing. The
// trace begins with a line naming both ends: "connected" or "accepted"
// for a connection with no traffic yet, "tracing" with the bytes so far
// otherwise. A capture gets the connection as a stream from here.
//
// A new Tracer with the same capture as the old one keeps the
// connection's stream (the dump's format changed, not the connection).
func (c *Conn) SetTracer(t *Tracer) {
	w := c.nc
	old := w.trace.Load()
	if t == nil {
		w.trace.Store(nil)
		if w.tap != nil {
			w.tap.stream.Store(nil)
		}
		return
	}
	if old != nil && old.t == t {
		return
	}
	ct := &connTrace{t: t}
	local, peer := w.Conn.LocalAddr(), w.Conn.RemoteAddr()
	sent, got := w.sent.Load(), w.received.Load()
	switch {
	case sent != 0 || got != 0:
		t.event("--", "tracing "+peerName(peer)+" from "+peerName(local)+": "+plural(sent, "byte")+" sent and "+
			strconv.FormatInt(got, 10)+" received before")
	case w.accepted:
		t.event("--", "accepted "+peerName(peer)+" on "+peerName(local))
	default:
		t.event("--", "connected to "+peerName(peer)+" from "+peerName(local))
	}
	switch {
	case t.capture == nil:
	case old != nil && old.stream != nil && old.t.capture == t.capture:
		ct.stream, ct.raw = old.stream, old.raw
	case w.tap != nil:
		ct.raw = true
		if ts := w.tap.stream.Load(); ts != nil {
			ct.stream = ts.s // DialTLS's, from the handshake
		} else {
			ct.stream = w.startCapture(t, local, peer)
		}
	default:
		if l, r := addrPort(local), addrPort(peer); l.IsValid() && r.IsValid() {
			ct.stream = t.capture.Stream(l, r, !w.accepted)
		}
	}
	w.trace.Store(ct)
}

// Tracer returns the Tracer set on c, or nil.
func (c *Conn) Tracer() *Tracer {
	if ct := c.nc.trace.Load(); ct != nil {
		return ct.t
	}
	return nil
}

// Mark puts a comment on the next packet of c's capture, if it has one.
func (c *Conn) Mark(text string) bool {
	if ct := c.nc.trace.Load(); ct != nil && ct.stream != nil {
		ct.stream.Mark(text)
		return true
	}
	return false
}

// timedOut tells c's trace that a receive timed out.
func (c *Conn) timedOut() {
	if ct := c.nc.trace.Load(); ct != nil {
		ct.t.event("<<", "receive from "+peerName(c.nc.Conn.RemoteAddr())+" timed out after "+c.Timeout().String()+
			", "+plural(c.nc.received.Load(), "byte")+" received so far")
	}
}
