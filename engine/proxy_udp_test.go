package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirelab/wirelab/engine/capture"
	"github.com/wirelab/wirelab/internal/testbin"
)

// A udpFar is the target of a UDP proxy's test: a Go socket that records
// every datagram with its sender and arrival, and answers with answer
// (nil: no answer).
type udpFar struct {
	pc *net.UDPConn
	mu sync.Mutex
	in []udpSeen
	// got is told of each datagram, for tests that wait on them.
	got chan udpSeen
}

type udpSeen struct {
	from netip.AddrPort
	data []byte
	at   time.Time
}

func newUDPFar(t *testing.T, answer func(p []byte) []byte) *udpFar {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pc.SetReadBuffer(4 << 20)
	f := &udpFar{pc: pc, got: make(chan udpSeen, 1<<14)}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			s := udpSeen{from: from, data: append([]byte(nil), buf[:n]...), at: time.Now()}
			f.mu.Lock()
			f.in = append(f.in, s)
			f.mu.Unlock()
			select {
			case f.got <- s:
			default:
			}
			if answer != nil {
				pc.WriteToUDPAddrPort(answer(s.data), from)
			}
		}
	}()
	return f
}

func (f *udpFar) port() int { return f.pc.LocalAddr().(*net.UDPAddr).Port }

// wait returns the next datagram the far side got, failing after 20 s.
func (f *udpFar) wait(t *testing.T) udpSeen {
	t.Helper()
	select {
	case s := <-f.got:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("no datagram reached the target")
		return udpSeen{}
	}
}

func startUDPProxy(t *testing.T, far *udpFar, o UDPProxyOptions) *UDPProxy {
	t.Helper()
	p, err := NewUDPProxy(context.Background(), "127.0.0.1", 0, "127.0.0.1", far.port(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// udpClient is a client socket of a test, connected to the proxy.
func udpClient(t *testing.T, p *UDPProxy) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p.Port()))))
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// recv reads one datagram on c, failing after 20 s.
func recv(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1<<16)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no datagram came back: %v", err)
	}
	return buf[:n]
}

// TestUDPProxyExact: two clients at once, each sending datagrams of many
// sizes (empty and the largest included) and waiting for each answer: every
// datagram reaches the target whole and alone, from a socket of the
// client's own, and every answer reaches the client that caused it.
func TestUDPProxyExact(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	// The answer names the port it came from and carries the datagram
	// back, reversed: a misrouted or cut answer cannot pass.
	far := newUDPFar(t, func(p []byte) []byte {
		r := make([]byte, len(p))
		for i, b := range p {
			r[len(p)-1-i] = b
		}
		return r
	})
	p := startUDPProxy(t, far, UDPProxyOptions{})
	sizes := []int{0, 1, 100, 1472, 1473, 9000, 32768, MaxDatagram}
	for i := 0; len(sizes) < 200; i++ {
		sizes = append(sizes, 1+(i*7919)%4000)
	}
	var wg sync.WaitGroup
	var want [2]int64
	ports := make([]int, 2)
	for k := range 2 {
		c := udpClient(t, p)
		ports[k] = c.LocalAddr().(*net.UDPAddr).Port
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range sizes {
				data := make([]byte, n)
				rand.Read(data)
				if _, err := c.Write(data); err != nil {
					t.Errorf("client %d: %v", k, err)
					return
				}
				want[k] += int64(n)
				got := recv(t, c)
				if len(got) != n {
					t.Errorf("client %d: sent %d bytes, the answer has %d", k, n, len(got))
					return
				}
				for i := range data {
					if got[len(got)-1-i] != data[i] {
						t.Errorf("client %d: the answer to %d bytes is not theirs", k, n)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	far.mu.Lock()
	from := map[netip.AddrPort]int{}
	for _, s := range far.in {
		from[s.from]++
	}
	far.mu.Unlock()
	if len(from) != 2 {
		t.Fatalf("the target saw %d senders, want one per client: %v", len(from), from)
	}
	// Stats count a datagram before it goes: read after the last answer
	// came, they are whole.
	sessions, up, down := p.Stats()
	if total := want[0] + want[1]; sessions != 2 || up != total || down != total {
		t.Fatalf("stats %d sessions, %d up, %d down; want 2, %d, %d", sessions, up, down, total, total)
	}
}

// TestUDPProxyLoss: with Loss 0.5, of 2,000 datagrams the target gets a
// count within a wide binomial bound (the mean 1,000, the standard
// deviation 22), each whole, in order; and with Loss 1 none, while the
// trace dumps each once, saying it was dropped.
func TestUDPProxyLoss(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFar(t, nil)
	p := startUDPProxy(t, far, UDPProxyOptions{Up: UDPFaults{Loss: 0.5}})
	c := udpClient(t, p)
	const n, size = 2000, 200
	sendNumbered(t, c, n, size)
	// The end marker goes until one arrives: what came before it has
	// come then, since one session's datagrams keep their order.
	stop := resend(c, []byte("end"))
	defer stop()
	got := 0
	last := -1
	for {
		s := far.wait(t)
		if string(s.data) == "end" {
			break
		}
		i, ok := checkNumbered(s.data, size)
		if !ok || i <= last {
			t.Fatalf("datagram %d (after %d) arrived cut, damaged or out of order: %d bytes", i, last, len(s.data))
		}
		last = i
		got++
	}
	t.Logf("%d of %d datagrams arrived", got, n)
	if got < 800 || got > 1200 {
		t.Fatalf("with loss 0.5, %d of %d datagrams arrived", got, n)
	}
	stop()
	// Stats count a datagram before it goes: the end markers sent (one or
	// more) and the datagrams that arrived.
	if _, up, _ := p.Stats(); up < int64(got*size+3) || (up-int64(got*size))%3 != 0 {
		t.Fatalf("stats: %d bytes up, want %d and end markers of 3 bytes", up, got*size)
	}

	var trace testbin.Buffer
	far2 := newUDPFar(t, nil)
	p2 := startUDPProxy(t, far2, UDPProxyOptions{Up: UDPFaults{Loss: 1}, Trace: NewTracer(&trace)})
	c2 := udpClient(t, p2)
	sendNumbered(t, c2, 20, 10)
	dropped := ">> up 10 bytes from " + c2.LocalAddr().String() + " to " + far2.pc.LocalAddr().String() + ", dropped (loss)\n"
	waitFor(t, "20 datagrams dropped", func() bool { return strings.Count(trace.String(), dropped) == 20 })
	p2.Set(UDPFaults{}, UDPFaults{})
	c2.Write([]byte("end"))
	if s := far2.wait(t); string(s.data) != "end" {
		t.Fatalf("with loss 1 the target got %q", s.data)
	}
	if n := strings.Count(trace.String(), " bytes from "); n != 21 {
		t.Fatalf("the trace dumps %d datagrams, want each of the 21 once:\n%s", n, trace.String())
	}
	if n := strings.Count(trace.String(), ">> up 3 bytes from "); n != 1 {
		t.Fatalf("the end marker is dumped %d times:\n%s", n, trace.String())
	}
}

// sendNumbered sends n datagrams of size bytes, each its number and a
// pattern of it, in bursts of 50 that the proxy's socket buffer holds.
func sendNumbered(t *testing.T, c *net.UDPConn, n, size int) {
	t.Helper()
	for i := range n {
		if _, err := c.Write(numbered(i, size)); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			// Not a measure: room for the proxy to read, so that the
			// kernel drops none on a loaded machine.
			time.Sleep(time.Millisecond)
		}
	}
}

// resend sends p on c every 20 ms until the function it returns is
// called: a marker that must get through a lossy proxy.
func resend(c *net.UDPConn, p []byte) func() {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		for {
			c.Write(p)
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

func numbered(i, size int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, size)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// checkNumbered returns the number of a datagram of numbered, and whether
// it is whole.
func checkNumbered(b []byte, size int) (int, bool) {
	if len(b) != size {
		return -1, false
	}
	i := int(binary.BigEndian.Uint32(b))
	return i, bytes.Equal(b, numbered(i, size))
}

// TestUDPProxyDup: with Dup 1 each datagram reaches the target exactly
// twice, in order, and the answers come back as they are (no faults down).
func TestUDPProxyDup(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFar(t, func(p []byte) []byte { return p })
	p := startUDPProxy(t, far, UDPProxyOptions{Up: UDPFaults{Dup: 1}})
	c := udpClient(t, p)
	const n = 100
	for i := range n {
		c.Write(numbered(i, 64))
		for range 2 {
			if got, ok := checkNumbered(recv(t, c), 64); !ok || got != i {
				t.Fatalf("answer %d to datagram %d", got, i)
			}
		}
	}
	c.Write([]byte("end"))
	recv(t, c)
	recv(t, c)
	far.mu.Lock()
	defer far.mu.Unlock()
	if len(far.in) != 2*n+2 {
		t.Fatalf("the target got %d datagrams, want %d", len(far.in), 2*n+2)
	}
	for i := range n {
		a, _ := checkNumbered(far.in[2*i].data, 64)
		b, _ := checkNumbered(far.in[2*i+1].data, 64)
		if a != i || b != i {
			t.Fatalf("datagrams %d and %d at the target are %d and %d, want %d twice", 2*i, 2*i+1, a, b, i)
		}
	}
	if _, up, down := p.Stats(); up != 2*(64*n+3) || down != 2*(64*n+3) {
		t.Fatalf("stats %d up, %d down", up, down)
	}
}

// TestUDPProxyDelayJitter: with Delay 300 ms no datagram arrives sooner
// than 300 ms after it was sent; with jitter far larger than the gaps
// between datagrams, they still arrive in order.
func TestUDPProxyDelayJitter(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFar(t, nil)
	p := startUDPProxy(t, far, UDPProxyOptions{Up: UDPFaults{Delay: 300 * time.Millisecond}})
	c := udpClient(t, p)
	sent := make([]time.Time, 10)
	for i := range sent {
		sent[i] = time.Now()
		c.Write(numbered(i, 8))
		time.Sleep(10 * time.Millisecond)
	}
	for i := range sent {
		s := far.wait(t)
		if got, _ := checkNumbered(s.data, 8); got != i {
			t.Fatalf("datagram %d arrived as the %dth", got, i)
		}
		if d := s.at.Sub(sent[i]); d < 300*time.Millisecond {
			t.Fatalf("datagram %d arrived %v after it was sent, under the delay of 300ms", i, d)
		}
	}

	p.Set(UDPFaults{Delay: 10 * time.Millisecond, Jitter: 200 * time.Millisecond}, UDPFaults{})
	for i := range 50 {
		c.Write(numbered(i, 8))
	}
	for i := range 50 {
		if got, ok := checkNumbered(far.wait(t).data, 8); !ok || got != i {
			t.Fatalf("with jitter datagram %d arrived as the %dth", got, i)
		}
	}
}

// TestUDPProxyRate: 40 datagrams of 1 KiB at 10 KiB a second take at
// least 3.5 s from the first to the last (3.9 s of link time after the
// first), each whole.
func TestUDPProxyRate(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFar(t, nil)
	p := startUDPProxy(t, far, UDPProxyOptions{Up: UDPFaults{Rate: 10 << 10}})
	c := udpClient(t, p)
	for i := range 40 {
		c.Write(numbered(i, 1024))
	}
	var first time.Time
	for i := range 40 {
		s := far.wait(t)
		if got, ok := checkNumbered(s.data, 1024); !ok || got != i {
			t.Fatalf("datagram %d arrived as the %dth (whole: %v)", got, i, ok)
		}
		if i == 0 {
			first = s.at
		}
		if i == 39 {
			if d := s.at.Sub(first); d < 3500*time.Millisecond {
				t.Fatalf("40 KiB at 10 KiB a second took %v", d)
			}
		}
	}
}

// TestUDPProxyIdle: a session with no traffic for the idle timeout is
// forgotten; the client's next datagram begins another, from a new
// socket, and its answer still comes back.
func TestUDPProxyIdle(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFar(t, func(p []byte) []byte { return p })
	var trace testbin.Buffer
	p := startUDPProxy(t, far, UDPProxyOptions{IdleTimeout: 50 * time.Millisecond, Trace: NewTracer(&trace)})
	c := udpClient(t, p)
	c.Write([]byte("one"))
	if got := recv(t, c); string(got) != "one" {
		t.Fatalf("answer %q", got)
	}
	first := far.wait(t).from
	waitFor(t, "the idle session to be forgotten", func() bool { return p.live() == 0 })
	c.Write([]byte("two"))
	if got := recv(t, c); string(got) != "two" {
		t.Fatalf("answer %q", got)
	}
	if second := far.wait(t).from; second == first {
		t.Fatalf("the second session came from the first one's socket %v", first)
	}
	if n, _, _ := p.Stats(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
	if !strings.Contains(trace.String(), "-- forgot "+c.LocalAddr().String()+" to "+far.pc.LocalAddr().String()+" after 50ms idle: 3 bytes up, 3 down\n") {
		t.Fatalf("trace:\n%s", trace.String())
	}
}

// waitFor polls cond until it holds, failing after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestUDPProxyTraceAndCapture: the trace dumps each datagram once, as it
// arrived, labelled up or down; the capture has each as a UDP packet of
// every leg it crossed: a duplicated one twice on the target's leg, the
// two answers once on each leg.
func TestUDPProxyTraceAndCapture(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFar(t, func(p []byte) []byte { return append([]byte("re:"), p...) })
	file := filepath.Join(t.TempDir(), "u.pcapng")
	cf, err := capture.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	fc := NewFileCapture(cf)
	var trace testbin.Buffer
	p := startUDPProxy(t, far, UDPProxyOptions{Up: UDPFaults{Dup: 1}, Trace: NewTracer(&trace).WithFormat(TraceText).WithCapture(fc)})
	c := udpClient(t, p)
	c.Write([]byte("hello"))
	for range 2 {
		if got := recv(t, c); string(got) != "re:hello" {
			t.Fatalf("answer %q", got)
		}
	}
	p.Close()
	fc.Close()
	cl, tg := c.LocalAddr().String(), far.pc.LocalAddr().String()
	tr := trace.String()
	for _, want := range []string{
		" -- relaying " + cl + " to " + tg + " (through 127.0.0.1:",
		" >> up 5 bytes from " + cl + " to " + tg + ", sent twice (dup)\nhello\n",
		" << down 8 bytes from " + tg + " to " + cl + "\nre:hello\n",
		" -- closed " + cl + " to " + tg + ": 10 bytes up, 16 down\n",
	} {
		if !strings.Contains(tr, want) {
			t.Fatalf("the trace lacks %q:\n%s", want, tr)
		}
	}
	if n := strings.Count(tr, " << down 8 bytes"); n != 2 {
		t.Fatalf("%d answers dumped, want 2:\n%s", n, tr)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		b, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pk := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
		if u, ok := pk.TransportLayer().(*layers.UDP); ok {
			got = append(got, fmt.Sprintf("%d>%d %s", u.SrcPort, u.DstPort, u.Payload))
		}
	}
	cp, pp, tp := c.LocalAddr().(*net.UDPAddr).Port, p.Port(), far.port()
	var up int
	for _, s := range got {
		var a, b int
		fmt.Sscanf(s, "%d>%d", &a, &b)
		if b == tp {
			up = a
		}
	}
	want := []string{
		fmt.Sprintf("%d>%d hello", cp, pp), fmt.Sprintf("%d>%d hello", up, tp), fmt.Sprintf("%d>%d hello", up, tp),
		fmt.Sprintf("%d>%d re:hello", tp, up), fmt.Sprintf("%d>%d re:hello", pp, cp),
		fmt.Sprintf("%d>%d re:hello", tp, up), fmt.Sprintf("%d>%d re:hello", pp, cp),
	}
	// The first answer may come back between the two copies: the order
	// across the legs is the wire's, the set of packets is fixed.
	slices.Sort(got)
	slices.Sort(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the capture's UDP packets\n%v\nwant\n%v", got, want)
	}
}

// TestUDPProxyRefused: a target where nothing listens is reported, once
// per session, and the proxy goes on.
func TestUDPProxyRefused(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	reports := make(chan error, 10)
	p, err := NewUDPProxy(context.Background(), "127.0.0.1", 0, "127.0.0.1", port, UDPProxyOptions{Report: func(err error) { reports <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := udpClient(t, p)
	c.Write([]byte("x"))
	var e error
	for e == nil {
		// The refusal comes with a later send or read: keep sending.
		c.Write([]byte("x"))
		select {
		case e = <-reports:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if want := fmt.Sprintf("send 127.0.0.1:%d: refused (nothing listens there)", port); e.Error() != want {
		t.Fatalf("report %q, want %q", e, want)
	}
}

// TestUDPProxyBadTarget: a target without a port, or a host that does not
// resolve, is an error at the start.
func TestUDPProxyBadTarget(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	if _, err := NewUDPProxy(context.Background(), "127.0.0.1", 0, "127.0.0.1", 0, UDPProxyOptions{}); err == nil ||
		!strings.Contains(err.Error(), "port from 1 to 65535") {
		t.Fatalf("port 0: %v", err)
	}
	if _, err := NewUDPProxy(context.Background(), "127.0.0.1", 0, "no-such-host.invalid", 9, UDPProxyOptions{}); err == nil ||
		!strings.Contains(err.Error(), "no such host") {
		t.Fatalf("a bad host: %v", err)
	}
}
