package main

import (
	"bytes"
	binenc "encoding/binary"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// A far side for the UDP proxy's tests: a Go socket that records each
// datagram with its sender and arrival, and answers with answer (nil:
// none).
type udpFarSide struct {
	pc  *net.UDPConn
	mu  sync.Mutex
	got []udpArrival
	ch  chan udpArrival
}

type udpArrival struct {
	from netip.AddrPort
	data []byte
	at   time.Time
}

func newUDPFarSide(t *testing.T, answer func(p []byte) []byte) *udpFarSide {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pc.SetReadBuffer(4 << 20)
	f := &udpFarSide{pc: pc, ch: make(chan udpArrival, 1<<14)}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			a := udpArrival{from: from, data: append([]byte(nil), buf[:n]...), at: time.Now()}
			f.mu.Lock()
			f.got = append(f.got, a)
			f.mu.Unlock()
			select {
			case f.ch <- a:
			default:
			}
			if answer != nil {
				pc.WriteToUDPAddrPort(answer(a.data), from)
			}
		}
	}()
	return f
}

func (f *udpFarSide) addr() string { return f.pc.LocalAddr().String() }

// next returns the next datagram the far side got, failing after 20 s.
func (f *udpFarSide) next(t *testing.T) udpArrival {
	t.Helper()
	select {
	case a := <-f.ch:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no datagram reached the far side")
		return udpArrival{}
	}
}

// udpProxied starts wirelab proxy --udp to far with args, and a client.
func udpProxied(t *testing.T, far *udpFarSide, args ...string) (*proc, *net.UDPConn) {
	t.Helper()
	p, addr := startCommand(t, nil, append([]string{"proxy", "--udp", "0", far.addr()}, args...)...)
	return p, udpDial(t, addr)
}

func udpDial(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// udpRecv reads one datagram on c, failing after 20 s.
func udpRecv(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1<<16)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no datagram came back: %v", err)
	}
	return buf[:n]
}

// numberedDatagram is datagram i of size bytes: its number, then a
// pattern of it, so that a cut or mixed one shows.
func numberedDatagram(i, size int) []byte {
	b := bytes.Repeat([]byte{byte(i * 31)}, size)
	binenc.BigEndian.PutUint32(b, uint32(i))
	return b
}

// whole returns the number of a numberedDatagram, and whether it is one,
// whole.
func whole(b []byte, size int) (int, bool) {
	if len(b) != size {
		return -1, false
	}
	i := int(binenc.BigEndian.Uint32(b))
	return i, bytes.Equal(b, numberedDatagram(i, size))
}

// TestProxyUDPExact: two clients at once through wirelab proxy --udp, each
// sending 300 datagrams of sizes up to the largest and waiting for each
// answer: each reaches the far side whole, from a socket of its client's
// own, and each answer (the datagram reversed, with the far side's count)
// reaches the client that caused it. Traced, each datagram is dumped once,
// labelled up or down.
func TestProxyUDPExact(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFarSide(t, func(p []byte) []byte {
		r := make([]byte, len(p))
		for i, b := range p {
			r[len(p)-1-i] = b
		}
		return r
	})
	for _, args := range [][]string{{}, {"--trace=text"}} {
		t.Run(strings.Join(append([]string{"plain"}, args...), " "), func(t *testing.T) {
			p, addr := startCommand(t, nil, append([]string{"proxy", "--udp", "0", far.addr()}, args...)...)
			far.mu.Lock()
			far.got = nil
			far.mu.Unlock()
			sizes := []int{0, 1, 1472, 1473, 65507}
			for i := 0; len(sizes) < 300; i++ {
				sizes = append(sizes, 1+(i*7919)%3000)
			}
			var wg sync.WaitGroup
			clients := []*net.UDPConn{udpDial(t, addr), udpDial(t, addr)}
			for k, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i, n := range sizes {
						data := randomBytes(n)
						c.Write(data)
						got := udpRecv(t, c)
						ok := len(got) == n
						for j := 0; ok && j < n; j++ {
							ok = got[n-1-j] == data[j]
						}
						if !ok {
							t.Errorf("client %d, datagram %d: the answer to %d bytes is %d bytes and not its own", k, i, n, len(got))
							return
						}
					}
				}()
			}
			wg.Wait()
			far.mu.Lock()
			senders := map[netip.AddrPort]int{}
			for _, a := range far.got {
				senders[a.from]++
			}
			far.mu.Unlock()
			if len(senders) != 2 {
				t.Fatalf("the far side saw %d senders (%v), want one per client", len(senders), senders)
			}
			for from, n := range senders {
				if n != len(sizes) {
					t.Fatalf("%v sent %d datagrams, want %d", from, n, len(sizes))
				}
			}
			if len(args) > 0 {
				trace := p.errs.String()
				cl := clients[0].LocalAddr().String()
				for _, want := range []string{"-- relaying " + cl + " to " + far.addr(), ">> up 1473 bytes from " + cl + " to " + far.addr() + "\n",
					"<< down 1473 bytes from " + far.addr() + " to " + cl + "\n"} {
					if !strings.Contains(trace, want) {
						t.Fatalf("the trace lacks %q:\n%.3000s", want, trace)
					}
				}
				if n := strings.Count(trace, " 65507 bytes from "); n != 4 {
					t.Fatalf("the two datagrams of 65507 bytes and their answers are dumped %d times, want 4", n)
				}
			}
		})
	}
}

// TestProxyUDPLoss: --loss 0.5 over 2,000 datagrams: the count that
// arrives is within a wide binomial bound (mean 1,000, standard
// deviation 22), and each that arrives is whole, in order.
func TestProxyUDPLoss(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFarSide(t, nil)
	_, c := udpProxied(t, far, "--loss", "0.5", "--direction", "up")
	const n, size = 2000, 300
	for i := range n {
		c.Write(numberedDatagram(i, size))
		if i%50 == 49 {
			// Not a measure: room for the proxy to read, so that the
			// kernel drops none on a loaded machine.
			time.Sleep(time.Millisecond)
		}
	}
	// An end marker, sent until one gets through: one client's datagrams
	// keep their order, so all before it have come then.
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c.Write([]byte("end"))
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	got, last := 0, -1
	for {
		a := far.next(t)
		if string(a.data) == "end" {
			break
		}
		i, ok := whole(a.data, size)
		if !ok || i <= last {
			t.Fatalf("after datagram %d, one of %d bytes arrived cut, damaged or out of order (%d)", last, len(a.data), i)
		}
		last, got = i, got+1
	}
	t.Logf("%d of %d datagrams arrived", got, n)
	if got < 800 || got > 1200 {
		t.Fatalf("--loss 0.5: %d of %d datagrams arrived", got, n)
	}
}

// TestProxyUDPDup: --dup 1 sends each datagram twice, in order.
func TestProxyUDPDup(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFarSide(t, func(p []byte) []byte { return p })
	_, c := udpProxied(t, far, "--dup", "1", "--direction", "up")
	const n = 100
	for i := range n {
		c.Write(numberedDatagram(i, 100))
		for range 2 {
			if got, ok := whole(udpRecv(t, c), 100); !ok || got != i {
				t.Fatalf("answer %d to datagram %d", got, i)
			}
		}
	}
	far.mu.Lock()
	defer far.mu.Unlock()
	if len(far.got) != 2*n {
		t.Fatalf("the far side got %d datagrams, want %d", len(far.got), 2*n)
	}
	for j, a := range far.got {
		if i, ok := whole(a.data, 100); !ok || i != j/2 {
			t.Fatalf("datagram %d at the far side is %d, want %d", j, i, j/2)
		}
	}
}

// TestProxyUDPDelayAndRate: with --delay 300 no datagram arrives sooner
// than 300 ms after it was sent; with --rate 10k, 40 datagrams of 1 KiB
// take at least 3.5 s from the first to the last (3.9 s of the link's
// time), each whole.
func TestProxyUDPDelayAndRate(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	far := newUDPFarSide(t, nil)
	_, c := udpProxied(t, far, "--delay", "300")
	for i := range 5 {
		sent := time.Now()
		c.Write(numberedDatagram(i, 10))
		a := far.next(t)
		if got, _ := whole(a.data, 10); got != i {
			t.Fatalf("datagram %d arrived for %d", got, i)
		}
		if d := a.at.Sub(sent); d < 300*time.Millisecond {
			t.Fatalf("with --delay 300 datagram %d arrived after %v", i, d)
		}
	}

	far2 := newUDPFarSide(t, nil)
	_, c2 := udpProxied(t, far2, "--rate", "10k")
	for i := range 40 {
		c2.Write(numberedDatagram(i, 1024))
	}
	var first time.Time
	for i := range 40 {
		a := far2.next(t)
		if got, ok := whole(a.data, 1024); !ok || got != i {
			t.Fatalf("datagram %d arrived as the %dth (whole: %v)", got, i, ok)
		}
		if i == 0 {
			first = a.at
		}
		if i == 39 {
			t.Logf("40 KiB at --rate 10k: %v from the first datagram to the last", a.at.Sub(first))
		}
		if d := a.at.Sub(first); i == 39 && d < 3500*time.Millisecond {
			t.Fatalf("40 KiB at --rate 10k took %v", d)
		}
	}
}

// TestProxyUDPUsage: the stream's faults with --udp, the datagrams'
// without, and bad probabilities are usage errors that name them.
func TestProxyUDPUsage(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--udp", "0", "127.0.0.1:1", "--slice", "3", "--limit", "10"}, "--slice, --limit: TCP only, not with --udp"},
		{[]string{"--udp", "0", "127.0.0.1:1", "--coalesce", "3"}, "--coalesce: TCP only"},
		{[]string{"--udp", "0", "127.0.0.1:1", "--reset-after", "3", "--stall-after", "4", "--slice-delay", "5"}, "--slice-delay, --reset-after, --stall-after: TCP only"},
		{[]string{"0", "127.0.0.1:1", "--loss", "0.1"}, "--loss: datagram faults, for --udp only"},
		{[]string{"0", "127.0.0.1:1", "--dup", "0.1", "--loss", "0"}, "--loss, --dup: datagram faults, for --udp only"},
		{[]string{"--udp", "0", "127.0.0.1:1", "--loss", "1.5"}, `invalid value "1.5" for flag -loss: "1.5" is not a probability: give a number from 0 to 1`},
		{[]string{"--udp", "0", "127.0.0.1:1", "--dup", "-0.1"}, `invalid value "-0.1" for flag -dup: "-0.1" is not a probability`},
		{[]string{"--udp", "0", "127.0.0.1:1", "--loss", "NaN"}, `"NaN" is not a probability`},
		{[]string{"--udp", "0", "unix:/tmp/x"}, "--udp: TARGET is HOST:PORT"},
		{[]string{"--udp", "0", "127.0.0.1:0"}, "--udp: TARGET needs a port from 1 to 65535"},
		{[]string{"--udp", "0"}, "PORT and TARGET expected"},
		{[]string{"--udp", "0", "127.0.0.1:1", "--direction", "sideways"}, `--direction "sideways": up or down expected`},
		{[]string{"--udp", "0", "127.0.0.1:1", "--delay", "-1"}, "--delay -1: milliseconds, 0 or more, expected"},
	} {
		out, err := exec.Command(binary, append([]string{"proxy"}, c.args...)...).CombinedOutput()
		if exitCode(err) != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("proxy %v: exit %d, want 2 and %q:\n%s", c.args, exitCode(err), c.want, out)
		}
	}
}
