package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	tsh "github.com/wirelab/wirelab/internal/tshark"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// packet is one packet read back from a file.
type packet struct {
	ci       gopacket.CaptureInfo
	data     []byte
	comments []string
	pkt      gopacket.Packet
}

func (p packet) tcp() *layers.TCP {
	if l, ok := p.pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		return l
	}
	return nil
}

func (p packet) udp() *layers.UDP {
	if l, ok := p.pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		return l
	}
	return nil
}

// src and dst are the packet's IP addresses and transport ports.
func (p packet) src() netip.AddrPort { return p.addr(true) }
func (p packet) dst() netip.AddrPort { return p.addr(false) }

func (p packet) addr(src bool) netip.AddrPort {
	var ip []byte
	switch l := p.pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		ip = l.DstIP
		if src {
			ip = l.SrcIP
		}
	case *layers.IPv6:
		ip = l.DstIP
		if src {
			ip = l.SrcIP
		}
	}
	a, _ := netip.AddrFromSlice(ip)
	var port uint16
	if t := p.tcp(); t != nil {
		port = uint16(t.DstPort)
		if src {
			port = uint16(t.SrcPort)
		}
	} else if u := p.udp(); u != nil {
		port = uint16(u.DstPort)
		if src {
			port = uint16(u.SrcPort)
		}
	}
	return netip.AddrPortFrom(a.Unmap(), port)
}

// readPackets reads every packet of the pcapng bytes b with pcapgo's
// reader, decoding each with gopacket, and returns the reader's error at
// the end (nil for a clean io.EOF).
func readPackets(t *testing.T, b []byte) ([]packet, *pcapgo.NgReader, error) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, nil, err
	}
	var ps []packet
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return ps, r, nil
		}
		if err != nil {
			return ps, r, err
		}
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		if el := pkt.ErrorLayer(); el != nil {
			t.Errorf("packet %d does not decode: %v", len(ps)+1, el.Error())
		}
		ps = append(ps, packet{ci: ci, data: data, comments: opts.Comments, pkt: pkt})
	}
}

// block is one pcapng block: its type and its body (after type and length).
type block struct {
	typ  uint32
	body []byte
}

// blocks splits little-endian pcapng bytes into whole blocks, checking each
// block's two lengths agree; rest is what follows the last whole block.
func blocks(t *testing.T, b []byte) (bs []block, rest []byte) {
	t.Helper()
	for len(b) >= 12 {
		typ := binary.LittleEndian.Uint32(b)
		n := int(binary.LittleEndian.Uint32(b[4:]))
		if n < 12 || n%4 != 0 {
			t.Fatalf("block %d: length %d", len(bs), n)
		}
		if n > len(b) {
			break
		}
		if tail := int(binary.LittleEndian.Uint32(b[n-4:])); tail != n {
			t.Fatalf("block %d: lengths %d and %d", len(bs), n, tail)
		}
		bs = append(bs, block{typ, b[8 : n-4]})
		b = b[n:]
	}
	return bs, b
}

// recorder is an io.Writer that keeps each Write's bytes apart.
type recorder struct {
	writes [][]byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) bytes() []byte { return bytes.Join(r.writes, nil) }

// failAfter is an io.Writer that takes n bytes, then fails.
type failAfter struct {
	n       int
	written int
	calls   int
}

var errDiskFull = errors.New("disk full")

func (w *failAfter) Write(p []byte) (int, error) {
	w.calls++
	if w.written+len(p) > w.n {
		k := w.n - w.written
		w.written = w.n
		return k, errDiskFull
	}
	w.written += len(p)
	return len(p), nil
}

func tshark(t *testing.T, args ...string) string { t.Helper(); return tsh.Run(t, args...) }

func tsharkAllowError(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return tsh.RunAllowError(t, args...)
}

func followTCP(t *testing.T, file string, stream int) tsh.Follow {
	t.Helper()
	return tsh.FollowTCP(t, file, stream)
}

func expertLines(report string) (bad, all []string) { return tsh.Expert(report) }

// flow is one direction of a connection.
type flow struct{ src, dst netip.AddrPort }

// tcpCheck follows every TCP packet of ps as a receiver would, failing the
// test where a sequence or acknowledgement number is not the one the
// stream's history gives, a segment is larger than the MSS or reaches the
// edge of the receiver's window, or an IP length disagrees with the
// packet's; it returns each direction's bytes.
func tcpCheck(t *testing.T, ps []packet) map[flow][]byte {
	t.Helper()
	nxt := map[flow]uint32{}
	acked := map[flow]uint32{} // the other side's last acknowledgement of a flow's bytes
	data := map[flow][]byte{}
	for i, p := range ps {
		ipLen := 0
		switch l := p.pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			ipLen = int(l.Length)
		case *layers.IPv6:
			ipLen = 40 + int(l.Length)
		}
		if p.udp() == nil && (ipLen != len(p.data) || p.ci.Length != len(p.data)) {
			t.Errorf("packet %d: IP length %d, %d bytes, original length %d", i+1, ipLen, len(p.data), p.ci.Length)
		}
		tc := p.tcp()
		if tc == nil {
			continue
		}
		k := flow{p.src(), p.dst()}
		rk := flow{k.dst, k.src}
		mss := mss4
		if p.src().Addr().Is6() {
			mss = mss6
		}
		if len(tc.Payload) > mss {
			t.Errorf("packet %d: %d bytes, more than the MSS %d", i+1, len(tc.Payload), mss)
		}
		if tc.Window != window {
			t.Errorf("packet %d: window %d", i+1, tc.Window)
		}
		if tc.SYN {
			nxt[k] = tc.Seq + 1
		} else {
			want, ok := nxt[k]
			if !ok {
				t.Errorf("packet %d: %v before its SYN", i+1, k)
			}
			if tc.Seq != want {
				t.Errorf("packet %d (%v): seq %d, want %d", i+1, k, tc.Seq, want)
			}
			if len(tc.Payload) > 0 && tc.Seq+uint32(len(tc.Payload))-acked[k] >= window<<windowShift {
				t.Errorf("packet %d (%v): %d bytes unacknowledged, the window is %d", i+1, k,
					tc.Seq+uint32(len(tc.Payload))-acked[k], window<<windowShift)
			}
			data[k] = append(data[k], tc.Payload...)
			nxt[k] = tc.Seq + uint32(len(tc.Payload))
			if tc.FIN {
				nxt[k]++
			}
		}
		if tc.ACK {
			if want := nxt[rk]; tc.Ack != want {
				t.Errorf("packet %d (%v): ack %d, want %d", i+1, k, tc.Ack, want)
			}
			acked[rk] = tc.Ack
		}
	}
	return data
}

// flags spells a TCP packet's flags as tshark lists them, in a fixed order.
func flags(tc *layers.TCP) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{tc.SYN, "SYN"}, {tc.FIN, "FIN"}, {tc.RST, "RST"}, {tc.PSH, "PSH"}, {tc.ACK, "ACK"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, ",")
}

// clock is a File.Now that advances a millisecond a call.
func clock() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

// bytesOf is n bytes of a pattern that seed varies, so that a byte out of
// place shows.
func bytesOf(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func (f flow) String() string { return f.src.String() + " > " + f.dst.String() }
