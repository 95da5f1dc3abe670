package engine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
	"github.com/wirelab/wirelab/netproto"
)

// pairs makes connected pairs of several kinds, as yamux's tests do.
var pairs = []struct {
	name string
	make func(t testing.TB) (*Conn, *Conn)
}{
	{"pipe", func(t testing.TB) (*Conn, *Conn) {
		a, b := net.Pipe()
		return NewConn(a), NewConn(b)
	}},
	{"tcp", tcpPair},
}

func tcpPair(t testing.TB) (*Conn, *Conn) {
	t.Helper()
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *Conn, 1)
	go func() {
		c, _ := ln.Accept(context.Background())
		accepted <- c
	}()
	c, err := Dial(context.Background(), "127.0.0.1", ln.Port(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func TestFramesOverEveryConn(t *testing.T) {
	h, _ := netproto.LengthHeader("!I")
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			a, b := p.make(t)
			ctx := context.Background()
			msgs := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte("x"), 100000)}
			go func() {
				for _, m := range msgs {
					if err := a.SendFrame(ctx, h, m); err != nil {
						t.Error(err)
					}
				}
				a.Close()
			}()
			for i, want := range msgs {
				got, err := b.RecvFrame(ctx, h, netproto.DefaultMaxFrame)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("frame %d: %d bytes, %v", i, len(got), err)
				}
			}
			if _, err := b.RecvFrame(ctx, h, netproto.DefaultMaxFrame); !errors.Is(err, ErrClosed) {
				t.Fatalf("after close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestInterrupt checks that cancelling a context wakes every blocking call
// within 100 ms with ErrInterrupted.
func TestInterrupt(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	udp, err := ListenUDP(context.Background(), "127.0.0.1", 0)
	switch {
	case err == nil:
		defer udp.Close()
	case !testbin.Wine():
		t.Fatal(err)
	}
	h, _ := netproto.LengthHeader("!I")
	calls := map[string]func(ctx context.Context) error{
		"accept": func(ctx context.Context) error { _, err := ln.Accept(ctx); return err },
		"sleep":  func(ctx context.Context) error { return Sleep(ctx, time.Minute) },
		"exec":   func(ctx context.Context) error { _, err := Run(ctx, Command{Shell: slow(60)}); return err },
		"udp":    func(ctx context.Context) error { _, _, _, err := udp.RecvFrom(ctx, 100); return err },
		"chan":   func(ctx context.Context) error { _, err := NewChan(0).Recv(ctx, 0); return err },
	}
	for _, p := range pairs {
		p := p
		if p.name == "unix" && testbin.Wine() {
			continue // unixPair skips, which a call's goroutine cannot: testbin.WineUnix
		}
		calls["recv/"+p.name] = func(ctx context.Context) error {
			_, b := p.make(t)
			_, err := b.Recv(ctx, 10)
			return err
		}
		calls["frame/"+p.name] = func(ctx context.Context) error {
			_, b := p.make(t)
			_, err := b.RecvFrame(ctx, h, 100)
			return err
		}
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if name == "udp" && udp == nil {
				t.Skip("skipped under Wine: " + testbin.WineUDP)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- call(ctx) }()
			// Nothing will come: the call must still be waiting when
			// cancelled (a negative check, which only time can make).
			select {
			case err := <-done:
				t.Fatalf("returned %v before the cancel", err)
			case <-time.After(50 * time.Millisecond):
			}
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, ErrInterrupted) {
					t.Fatalf("err %v, want ErrInterrupted", err)
				}
				limit := 100 * time.Millisecond
				if name == "exec" && testbin.Wine() {
					// Wine ends a job's processes through its wineserver,
					// which took 140 ms here.
					limit = time.Second
				}
				if d := time.Since(start); d > limit {
					t.Fatalf("returned after %v", d)
				}
			case <-time.After(time.Second):
				t.Fatal("still blocked a second after cancel")
			}
		})
	}
}

func TestConnUsableAfterInterrupt(t *testing.T) {
	a, b := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Recv(ctx, 10)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("returned %v before the cancel", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	a.Send(context.Background(), []byte("later"))
	got, err := b.RecvExact(context.Background(), 5)
	if err != nil || string(got) != "later" {
		t.Fatalf("%q %v", got, err)
	}
}

// TestRecvUntil reads lines whose delimiter is split across writes. Over
// net.Pipe every write arrives as a read of its own, so the splits reach
// RecvUntil as they were sent; over TCP they may arrive joined.
func TestRecvUntil(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			a, b := p.make(t)
			ctx := context.Background()
			go func() {
				for _, piece := range []string{"GET / HT", "TP/1.0\r", "\n", "Host: x\r\n\r", "\nbody"} {
					a.Send(ctx, []byte(piece))
				}
			}()
			for _, want := range []string{"GET / HTTP/1.0", "Host: x", ""} {
				got, err := b.RecvUntil(ctx, []byte("\r\n"), 100)
				if err != nil || string(got) != want {
					t.Fatalf("%q %v, want %q", got, err, want)
				}
			}
			if got, _ := b.RecvExact(ctx, 4); string(got) != "body" {
				t.Fatalf("left %q", got)
			}
		})
	}
}

func TestRunKillsGroupOnTimeout(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "pid")
	start := time.Now()
	res, err := Run(context.Background(), Command{Shell: "sleep 60 & echo $! > " + pidfile + "; wait", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || time.Since(start) > 2*time.Second {
		t.Fatalf("timed out %v after %v", res.TimedOut, time.Since(start))
	}
	text, _ := os.ReadFile(pidfile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(text)))
	if pid <= 0 {
		t.Fatal("the child's pid was not written")
	}
	// The kill is sent; wait for the child to be gone or a zombie.
	testbin.WaitGone(t, pid)
}

func TestRunDrainsBothPipes(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	res, err := Run(context.Background(), Command{Argv: []string{"sh", "-c", "head -c 1000000 /dev/zero >&2; head -c 1000000 /dev/zero"}, MaxOutput: 500000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != 500000 || len(res.Stderr) != 500000 || !res.Truncated || res.Code != 0 {
		t.Fatalf("stdout %d stderr %d truncated %v code %d", len(res.Stdout), len(res.Stderr), res.Truncated, res.Code)
	}
}

func TestRecvFileShortLeavesNothing(t *testing.T) {
	a, b := tcpPair(t)
	dir := t.TempDir()
	go func() {
		a.Send(context.Background(), bytes.Repeat([]byte("a"), 5000))
		a.Close()
	}()
	r, err := b.RecvFile(context.Background(), "f", 10000, FileOptions{Dir: dir, Hash: "md5"})
	n := r.N
	if !errors.Is(err, ErrClosed) || n != 5000 {
		t.Fatalf("n %d err %v", n, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("left %v", entries)
	}
}

func TestDictAndChan(t *testing.T) {
	d := NewDict()
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func() {
			for j := 0; j < 1000; j++ {
				d.Incr("n", 1)
			}
			done <- true
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
	if v, _ := d.Get("n"); v != 8000.0 {
		t.Fatalf("n = %v", v)
	}
	ch := NewChan(2)
	ch.Send(context.Background(), 1)
	ch.Close()
	if v, err := ch.Recv(context.Background(), 0); v != 1 || err != nil {
		t.Fatalf("%v %v", v, err)
	}
	if _, err := ch.Recv(context.Background(), 0); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := NewChan(0).Recv(context.Background(), 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatal(err)
	}
}

// TestRecvFrameBuffered: frames that arrive many to a read, or straddle
// the read buffer's end, come out whole and in order, whether the buffer
// holds them entirely (the fast path) or not; a refused length prefix is
// consumed and the frame after it still reads.
func TestRecvFrameBuffered(t *testing.T) {
	h, _ := netproto.LengthHeader("!I")
	var stream []byte
	var want []string
	for i, size := range []int{0, 1, 5, 4090, 4091, 4092, 4096, 7, 8000, 3, 4087, 64} {
		p := bytes.Repeat([]byte{byte('a' + i)}, size)
		stream, _ = netproto.AppendFrame(stream, h, p)
		want = append(want, string(p))
	}
	stream = append(stream, 0, 0, 0x10, 0) // 4096: over the limit below
	stream, _ = netproto.AppendFrame(stream, h, []byte("after"))
	for _, chunk := range []int{len(stream), 4096, 4093, 1000, 3} {
		t.Run(strconv.Itoa(chunk), func(t *testing.T) {
			a, b := tcpPair(t)
			go func() {
				for rest := stream; len(rest) > 0; {
					n := min(chunk, len(rest))
					if _, err := a.Send(context.Background(), rest[:n]); err != nil {
						t.Error(err)
						return
					}
					rest = rest[n:]
				}
			}()
			ctx := context.Background()
			for i, w := range want {
				got, err := b.RecvFrame(ctx, h, 8000)
				if err != nil || string(got) != w {
					t.Fatalf("frame %d: %d bytes, %v; want %d", i, len(got), err, len(w))
				}
			}
			if _, err := b.RecvFrame(ctx, h, 4095); !errors.Is(err, netproto.ErrFrameTooLarge) {
				t.Fatalf("oversized prefix: %v", err)
			}
			if got, err := b.RecvFrame(ctx, h, 100); err != nil || string(got) != "after" {
				t.Fatalf("after the refused prefix: %q %v", got, err)
			}
		})
	}
}
