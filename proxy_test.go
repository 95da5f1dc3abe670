package main

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
	"github.com/wirelab/wirelab/internal/tshark"
)

// A far side for the proxy's tests: a Go server that records each read
// of each connection, and what it does then.
type farSide struct {
	ln    net.Listener
	mu    sync.Mutex
	reads [][]int // per connection, the size of each read
}

// newFarSide starts a server that runs serve for each connection.
func newFarSide(t *testing.T, serve func(f *farSide, c net.Conn, reads *[]int)) *farSide {
	t.Helper()
	f := &farSide{}
	f.ln = testbin.Serve(t, func(c net.Conn) {
		var reads []int
		serve(f, c, &reads)
		f.mu.Lock()
		f.reads = append(f.reads, reads)
		f.mu.Unlock()
	})
	return f
}

// readAll reads c to its end, noting each read's size.
func readAll(c net.Conn, reads *[]int) ([]byte, error) {
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			*reads = append(*reads, n)
			got = append(got, buf[:n]...)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return got, err
		}
	}
}

func (f *farSide) addr() string { return f.ln.Addr().String() }

// TestProxyExact: every byte both ways, in order, and half-close kept:
// the client's FIN reaches the target, whose answer (the md5 of all it
// got) still comes back; then the proxy's trace shows each chunk once,
// labelled with its direction.
func TestProxyExact(t *testing.T) {
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		got, _ := readAll(c, reads)
		fmt.Fprintf(c, "%x %d\n", md5.Sum(got), len(got))
	})
	for _, args := range [][]string{{}, {"--trace=text"}, {"--slice", "1000"}} {
		t.Run(strings.Join(append([]string{"plain"}, args...), " "), func(t *testing.T) {
			p, addr := startCommand(t, nil, append([]string{"proxy", "0", far.addr()}, args...)...)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			data := randomBytes(1 << 20)
			go func() {
				c.Write(data)
				c.(*net.TCPConn).CloseWrite()
			}()
			answer, err := io.ReadAll(c)
			if want := fmt.Sprintf("%x %d\n", md5.Sum(data), len(data)); err != nil || string(answer) != want {
				t.Fatalf("answer %q (%v), want %q; stderr %s", answer, err, want, p.errs.String())
			}
			if len(args) > 0 && args[0] == "--trace=text" {
				// The trace reaches p.errs through a pipe and a goroutine.
				var trace string
				testbin.WaitFor(t, 10*time.Second, "the proxy's trace", func() bool {
					trace = p.errs.String()
					return strings.Contains(trace, "-- relaying 127.0.0.1:") && strings.Contains(trace, ">> up ") &&
						strings.Contains(trace, "<< down 41 bytes from "+far.addr()) && strings.Contains(trace, ">> FIN from ")
				})
				if n := strings.Count(trace, " down 41 bytes"); n != 1 {
					t.Fatalf("the answer is dumped %d times", n)
				}
			}
		})
	}
}

// proxied starts a proxy to far with args and connects a client.
func proxied(t *testing.T, far *farSide, args ...string) (*proc, net.Conn) {
	t.Helper()
	p, addr := startCommand(t, nil, append([]string{"proxy", "0", far.addr()}, args...)...)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

// lastReads waits for a connection of the far side to end and returns
// the reads of the latest one to end.
func (f *farSide) lastReads(t *testing.T) []int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		n := len(f.reads)
		var reads []int
		if n > 0 {
			reads = f.reads[n-1]
		}
		f.mu.Unlock()
		if n > 0 {
			return reads
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the far side's connection did not end")
	return nil
}

// TestProxySlice: one write of 100 bytes through --slice 10 arrives as
// ten reads of 10 (the slices 200 ms apart, so that each is its own read).
func TestProxySlice(t *testing.T) {
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) { readAll(c, reads) })
	_, c := proxied(t, far, "--slice", "10", "--slice-delay", "200")
	c.Write(bytes.Repeat([]byte("x"), 100))
	c.(*net.TCPConn).CloseWrite()
	if reads := far.lastReads(t); fmt.Sprint(reads) != "[10 10 10 10 10 10 10 10 10 10]" {
		t.Fatalf("the far side read %v", reads)
	}
}

// TestProxyCoalesce: five writes 20 ms apart arrive as one read.
func TestProxyCoalesce(t *testing.T) {
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) { readAll(c, reads) })
	_, c := proxied(t, far, "--coalesce", "1500")
	for range 5 {
		c.Write(bytes.Repeat([]byte("y"), 10))
		time.Sleep(20 * time.Millisecond)
	}
	c.(*net.TCPConn).CloseWrite()
	if reads := far.lastReads(t); fmt.Sprint(reads) != "[50]" {
		t.Fatalf("the far side read %v, want one read of 50", reads)
	}
}

// TestProxyDelayAndRate: --delay shifts every chunk (the first arrives no
// sooner than the delay), --rate paces the bytes (200 KiB at 100k a
// second take at least 1.9 s, the first twentieth of a second's worth
// going at once).
func TestProxyDelayAndRate(t *testing.T) {
	arrived := make(chan time.Time, 1)
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		buf := make([]byte, 1)
		c.Read(buf)
		arrived <- time.Now()
		readAll(c, reads)
	})
	_, c := proxied(t, far, "--delay", "300")
	start := time.Now()
	c.Write([]byte("z"))
	if d := (<-arrived).Sub(start); d < 300*time.Millisecond {
		t.Fatalf("with --delay 300 the byte arrived after %v", d)
	}
	c.Close()
	far.lastReads(t)

	done := make(chan time.Duration, 1)
	far2 := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		start := time.Now()
		got, _ := readAll(c, reads)
		if len(got) == 200<<10 {
			done <- time.Since(start)
		} else {
			done <- -1
		}
	})
	_, c2 := proxied(t, far2, "--rate", "100k")
	go func() {
		c2.Write(make([]byte, 200<<10))
		c2.(*net.TCPConn).CloseWrite()
	}()
	if d := <-done; d < 1900*time.Millisecond {
		t.Fatalf("200 KiB at 100k a second took %v", d)
	}
}

// TestProxyLimits: --limit closes both sides after exactly that many
// bytes; --reset-after resets the client; --stall-after forwards exactly
// that many and then nothing, both connections open.
func TestProxyLimits(t *testing.T) {
	got := make(chan int, 3)
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		data, _ := readAll(c, reads)
		got <- len(data)
	})
	_, c := proxied(t, far, "--limit", "1000")
	go c.Write(make([]byte, 5000))
	if n := <-got; n != 1000 {
		t.Fatalf("--limit 1000: the far side got %d bytes", n)
	}
	if _, err := io.ReadAll(c); err != nil && !isReset(err) {
		t.Fatalf("the client after the limit: %v", err)
	}

	_, c = proxied(t, far, "--reset-after", "100")
	c.Write(make([]byte, 1000))
	if _, err := io.ReadAll(c); !isReset(err) {
		t.Fatalf("--reset-after: the client read %v, want a reset", err)
	}
	<-got

	stalled := make(chan error, 1)
	far3 := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		buf := make([]byte, 1000)
		n, err := io.ReadFull(c, buf[:100])
		if err != nil || n != 100 {
			stalled <- fmt.Errorf("read %d of the first 100: %v", n, err)
			return
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err = c.Read(buf)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			stalled <- fmt.Errorf("after the stall, a read gave %d bytes and %v, want a timeout on an open connection", n, err)
			return
		}
		stalled <- nil
	})
	_, c = proxied(t, far3, "--stall-after", "100")
	c.Write(make([]byte, 1000))
	if err := <-stalled; err != nil {
		t.Fatal(err)
	}
}

// TestProxyUsage: bad flags are usage errors that name them.
func TestProxyUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"0", "127.0.0.1:1", "--slice", "x"}, `invalid value "x" for flag -slice`},
		{[]string{"0", "127.0.0.1:1", "--rate", "fast"}, `"fast" is not a size: give bytes, or a number with K, M, G or T`},
		{[]string{"0", "127.0.0.1:1", "--slise", "3"}, "unknown flag --slise (did you mean --slice?)"},
		{[]string{"0", "127.0.0.1:1", "--direction", "sideways"}, `--direction "sideways": up or down expected`},
		{[]string{"0"}, "PORT and TARGET expected"},
		{[]string{"0", "127.0.0.1:1", "--slice-delay", "5"}, "--slice-delay needs --slice"},
	} {
		out, err := exec.Command(binary, append([]string{"proxy"}, c.args...)...).CombinedOutput()
		if exitCode(err) != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("proxy %v: exit %d, want 2 and %q:\n%s", c.args, exitCode(err), c.want, out)
		}
	}
}

// TestProxyIdleMemory measures the proxy's memory per relayed idle
// connection pair: 1,000 clients held open through it to a far side that
// holds them too. It states the figure and fails past 64 KiB a pair.
func TestProxyIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	const n = 1000
	accepted := make(chan struct{}, n)
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		accepted <- struct{}{}
		readAll(c, reads)
	})
	p, addr := startCommand(t, nil, "proxy", "0", far.addr())
	rss := func() int64 { return currentRSS(t, p.cmd.Process.Pid) }
	// One connection first, so that what every relay needs once is there.
	warm, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	<-accepted
	before := rss()
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		<-accepted
	}
	after := rss()
	per := (after - before) / n
	t.Logf("wirelab proxy: %d KiB resident for %d idle relayed pairs, %.1f KiB a pair", (after-before)>>10, n, float64(after-before)/n/1024)
	if per > 64<<10 {
		t.Fatalf("%d bytes a relayed idle pair", per)
	}
}

// currentRSS is a process's resident memory (VmRSS).
func currentRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skip("no /proc: memory not measured")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestProxyPcap: proxy --pcap writes both legs, the client's and the
// target's, as TCP streams with every byte each way, the slices of
// --slice as the segments they were, and nothing tshark calls wrong.
func TestProxyPcap(t *testing.T) {
	testbin.SkipWindows(t, "SIGINT to the proxy, which flushes its capture (Windows sends a console event only to a process group of its own)")
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		got, _ := readAll(c, reads)
		c.Write(bytes.ToUpper(got))
	})
	file := t.TempDir() + "/p.pcapng"
	p, c := proxied(t, far, "--slice", "7", "--pcap", file)
	c.Write([]byte("hello, relayed world"))
	c.(*net.TCPConn).CloseWrite()
	if answer, err := io.ReadAll(c); err != nil || string(answer) != "HELLO, RELAYED WORLD" {
		t.Fatalf("%q %v", answer, err)
	}
	c.Close()
	far.lastReads(t)
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t)
	for stream := range 2 {
		fl := tshark.FollowTCP(t, file, stream)
		if string(fl.Data[0]) != "hello, relayed world" || string(fl.Data[1]) != "HELLO, RELAYED WORLD" {
			t.Fatalf("stream %d: tshark follows %q and %q", stream, fl.Data[0], fl.Data[1])
		}
	}
	lens := tshark.Run(t, "-r", file, "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.len")
	if !strings.Contains(lens, "7\n7\n6\n") {
		t.Fatalf("segment lengths %q: the target's leg should show the slices 7, 7, 6", lens)
	}
	if bad, all := tshark.Expert(tshark.Run(t, "-r", file, "-q", "-z", "expert")); len(bad) > 0 {
		t.Fatalf("expert:\n%s", strings.Join(all, "\n"))
	}
}

// TestProxyJitterKeepsOrder: with --delay 100 --jitter 200, 20 writes
// 5 ms apart arrive in order, none sooner than 100 ms after it was sent.
func TestProxyJitterKeepsOrder(t *testing.T) {
	type arrival struct {
		b  byte
		at time.Time
	}
	arrived := make(chan arrival, 100)
	far := newFarSide(t, func(f *farSide, c net.Conn, reads *[]int) {
		buf := make([]byte, 100)
		for {
			n, err := c.Read(buf)
			for _, b := range buf[:n] {
				arrived <- arrival{b, time.Now()}
			}
			if err != nil {
				close(arrived)
				return
			}
		}
	})
	_, c := proxied(t, far, "--delay", "100", "--jitter", "200")
	var sent []time.Time
	for i := range 20 {
		sent = append(sent, time.Now())
		c.Write([]byte{byte(i)})
		time.Sleep(5 * time.Millisecond)
	}
	c.(*net.TCPConn).CloseWrite()
	next := 0
	for a := range arrived {
		if int(a.b) != next {
			t.Fatalf("byte %d arrived where %d was due: jitter reordered", a.b, next)
		}
		if d := a.at.Sub(sent[next]); d < 100*time.Millisecond {
			t.Fatalf("byte %d arrived %v after it was sent, under the delay", next, d)
		}
		next++
	}
	if next != 20 {
		t.Fatalf("%d of 20 bytes arrived", next)
	}
}
