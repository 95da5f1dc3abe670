package capture

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TCP windows: every segment advertises window<<windowShift bytes (8 MiB),
// far more than ever goes unacknowledged (ackEvery), so no segment looks
// as if it filled the receiver's window.
const (
	window      = 65535
	windowShift = 7
	// ackEvery is how many bytes one side may send before the other side's
	// pure ACK is written, when the other side writes nothing meanwhile: a
	// real receiver acknowledges as data arrives.
	ackEvery = 1 << 20
)

// Stream is one TCP connection in a File. Its methods are safe for use by
// many goroutines (the File's mutex orders them); after Reset, Close or the
// File's Close they write nothing.
type Stream struct {
	f        *File
	v6       bool
	us, peer endpoint
	done     bool     // after an RST or Close: nothing more is written
	comments []string // Mark's, for the stream's next packet
	holding  bool     // between Hold and Release
	held     []heldCall
}

// endpoint is one side of a Stream: its address and its sequence space.
type endpoint struct {
	ip   net.IP
	port layers.TCPPort
	mss  int
	nxt  uint32 // the sequence number of its next byte (SYN and FIN count one)
	// unacked counts the bytes it sent since the other side's last packet,
	// each of which acknowledges everything this side sent.
	unacked int
	fin     bool   // its FIN is written: it sends no more data
	ipid    uint16 // the IPv4 identification of its last packet
}

// TCP starts a stream for the connection between local (our socket) and
// remote, and writes its three-way handshake: outbound means we connected
// (our SYN first), else the peer did. The SYNs advertise the loopback MSS
// (65495 over IPv4, 65476 over IPv6) and a window scale.
func (f *File) TCP(local, remote netip.AddrPort, outbound bool) *Stream {
	lip, rip, v6 := ipPair(local.Addr(), remote.Addr())
	mss := mss4
	if v6 {
		mss = mss6
	}
	s := &Stream{
		f:    f,
		v6:   v6,
		us:   endpoint{ip: lip, port: layers.TCPPort(local.Port()), mss: mss, nxt: rand.Uint32()},
		peer: endpoint{ip: rip, port: layers.TCPPort(remote.Port()), mss: mss, nxt: rand.Uint32()},
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead() {
		s.done = true
		return s
	}
	a, b := &s.us, &s.peer
	if !outbound {
		a, b = b, a
	}
	s.segment(a, b, syn, nil)
	s.segment(b, a, syn|ack, nil)
	s.segment(a, b, ack, nil)
	return s
}

// Sent records one send call's bytes from us: one packet, or packets of
// the loopback MSS when p is larger. An empty p, or bytes after our FIN
// (which no socket sends), writes nothing.
func (s *Stream) Sent(p []byte) {
	if s.lock() {
		defer s.f.mu.Unlock()
		s.release()
		s.data(true, p)
	}
}

// Received records one read's bytes from the peer, as the peer's packet(s)
// split as Sent splits. An empty p, or bytes after the peer's FIN, writes
// nothing. While the stream holds (Hold), the bytes are copied and wait.
func (s *Stream) Received(p []byte) {
	if s.lock() {
		defer s.f.mu.Unlock()
		if s.holding {
			s.hold(heldCall{data: bytes.Clone(p)})
			return
		}
		s.data(false, p)
	}
}

// FinSent records our shutdown(SHUT_WR) or close: a FIN from us, and the
// peer's acknowledgement of it. Only the first call writes.
func (s *Stream) FinSent() {
	if s.lock() {
		defer s.f.mu.Unlock()
		s.release()
		s.finish(true)
	}
}

// FinReceived records the peer's end of stream: a FIN from the peer, and
// our acknowledgement of it. Only the first call writes. While the stream
// holds, it waits behind the bytes held.
func (s *Stream) FinReceived() {
	if s.lock() {
		defer s.f.mu.Unlock()
		if s.holding {
			s.hold(heldCall{fin: true})
			return
		}
		s.finish(false)
	}
}

// Reset records an RST, from the peer when byPeer, else from us, and ends
// the stream (what it held is written first).
func (s *Stream) Reset(byPeer bool) {
	if s.lock() {
		defer s.f.mu.Unlock()
		s.release()
		a, b := &s.us, &s.peer
		if byPeer {
			a, b = b, a
		}
		s.segment(a, b, rst|ack, nil)
		s.done = true
	}
}

// Close records our close: what the stream held, then a FIN from us
// unless one was sent already (or the stream was reset); after it nothing
// more is written for s.
func (s *Stream) Close() {
	if s.lock() {
		defer s.f.mu.Unlock()
		s.release()
		if !s.us.fin {
			s.fin(&s.us, &s.peer)
		}
		s.done = true
	}
}

// Mark puts text as a packet comment on the next packet written for s
// (while calls are held, the next one after them).
func (s *Stream) Mark(text string) {
	if s.lock() {
		defer s.f.mu.Unlock()
		if len(s.held) > 0 {
			s.hold(heldCall{mark: true, comment: cleanComment(text)})
			return
		}
		s.comments = append(s.comments, cleanComment(text))
	}
}

// Hold makes the peer's packets wait: from now until Release, Received and
// FinReceived are kept (with their times), and written when we next send
// (Sent, FinSent, Reset, Close), at Release, or at the File's Close.
// Secrets added meanwhile (AddSecrets) are written at once, so they come
// before the peer's packets that were read while they were derived.
//
// Hold is for a TLS handshake, on either side: call it before the
// handshake and Release when the handshake returns. crypto/tls logs the
// secrets it derives from the peer's flight after reading that flight (a
// TLS 1.3 client: the ServerHello, read with the encrypted flight behind
// it; a TLS 1.2 server: the client's key exchange, with its encrypted
// Finished), and Wireshark decrypts only what comes after the secrets in
// the file. A process killed while holding loses what was held.
func (s *Stream) Hold() {
	if s.lock() {
		defer s.f.mu.Unlock()
		s.holding = true
	}
}

// Release ends Hold: what was held is written now, and later calls are
// written as they come.
func (s *Stream) Release() {
	if s.lock() {
		defer s.f.mu.Unlock()
		s.holding = false
		s.release()
	}
}

// heldCall is a call that waits while the stream holds.
type heldCall struct {
	at      time.Time // when it was made: its packets' timestamp
	data    []byte    // Received's bytes
	fin     bool      // FinReceived
	mark    bool      // Mark, with comment
	comment string
}

// lock locks the file and reports whether s may still write; when it
// returns false the file is unlocked.
func (s *Stream) lock() bool {
	s.f.mu.Lock()
	if s.dead() {
		s.f.mu.Unlock()
		return false
	}
	return true
}

// dead reports whether nothing more may be written for s. f.mu is held.
func (s *Stream) dead() bool { return s.done || s.f.dead() }

// hold keeps c, a packet's call stamped now, until release. f.mu is held.
func (s *Stream) hold(c heldCall) {
	if !c.mark {
		c.at = s.f.now()
	}
	if len(s.held) == 0 {
		s.f.held = append(s.f.held, s)
	}
	s.held = append(s.held, c)
}

// release writes the held calls, each with its own time. f.mu is held.
func (s *Stream) release() {
	if len(s.held) == 0 {
		return
	}
	f := s.f
	for _, c := range s.held {
		f.at = c.at
		switch {
		case c.mark:
			s.comments = append(s.comments, c.comment)
		case c.fin:
			s.finish(false)
		default:
			s.data(false, c.data)
		}
	}
	f.at = time.Time{}
	s.held = nil
	f.held = slices.DeleteFunc(f.held, func(x *Stream) bool { return x == s })
}

// data writes p from us (ours) or from the peer. f.mu is held.
func (s *Stream) data(ours bool, p []byte) {
	f := s.f
	a, b := &s.us, &s.peer
	if !ours {
		a, b = b, a
	}
	if a.fin {
		return
	}
	for len(p) > 0 && !f.dead() {
		n := min(len(p), a.mss)
		flags := ack
		if n == len(p) {
			flags |= psh // the end of the call's bytes, as a sender's stack marks it
		}
		s.segment(a, b, flags, p[:n])
		p = p[n:]
		if a.unacked >= ackEvery {
			s.segment(b, a, ack, nil)
		}
	}
}

// finish writes the FIN from us (ours) or from the peer, once. f.mu is
// held.
func (s *Stream) finish(ours bool) {
	a, b := &s.us, &s.peer
	if !ours {
		a, b = b, a
	}
	if !a.fin {
		s.fin(a, b)
	}
}

// fin writes a FIN from a and b's acknowledgement of it (a kernel
// acknowledges a FIN at once). f.mu is held.
func (s *Stream) fin(a, b *endpoint) {
	s.segment(a, b, fin|ack, nil)
	a.fin = true
	s.segment(b, a, ack, nil)
}

// TCP flags of a segment.
type tcpFlags uint8

const (
	fin tcpFlags = 1 << iota
	syn
	rst
	psh
	ack
)

// segment writes one TCP segment from a to b and advances a's sequence
// number by its length (SYN and FIN count one). With ack it acknowledges
// everything b sent. f.mu is held.
func (s *Stream) segment(a, b *endpoint, flags tcpFlags, payload []byte) {
	f := s.f
	if f.dead() {
		return
	}
	t := &layers.TCP{
		SrcPort: a.port, DstPort: b.port,
		Seq: a.nxt, Window: window,
		FIN: flags&fin != 0, SYN: flags&syn != 0, RST: flags&rst != 0,
		PSH: flags&psh != 0, ACK: flags&ack != 0,
	}
	if t.ACK {
		t.Ack = b.nxt
		b.unacked = 0
	}
	if t.SYN {
		t.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{byte(a.mss >> 8), byte(a.mss)}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{windowShift}},
		}
	}
	a.ipid++
	ip := ipLayer(a.ip, b.ip, s.v6, layers.IPProtocolTCP, a.ipid)
	data, err := serialize(ip, t, payload)
	if err != nil {
		f.emit(err)
		return
	}
	comments := s.comments
	s.comments = nil
	f.writePacket(data, len(data), comments)
	a.nxt += uint32(len(payload))
	if t.SYN || t.FIN {
		a.nxt++
	}
	a.unacked += len(payload)
}
