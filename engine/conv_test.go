package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wirelab/wirelab/netproto"

	"github.com/wirelab/wirelab/internal/testbin"
)

// pipePair returns two Conns over net.Pipe, where every Write is one read
// on the other side: the way to send exact segments.
func pipePair(t testing.TB) (*Conn, *Conn) {
	a, b := net.Pipe()
	ca, cb := NewConn(a), NewConn(b)
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return ca, cb
}

// sendPieces writes s to nc split at the given sizes (cycled), then
// closes it when close is set.
func sendPieces(nc net.Conn, s string, sizes []int, close bool) {
	for i := 0; len(s) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(s))
		nc.Write([]byte(s[:n]))
		s = s[n:]
	}
	if close {
		nc.Close()
	}
}

// TestRecvUntilAnySegmentation checks that the delimiter matched and the
// bytes returned do not depend on how the stream is split: whole, one
// byte at a time, and in random pieces, over net.Pipe (each write one
// segment) and TCP.
func TestRecvUntilAnySegmentation(t *testing.T) {
	stream := "a\r\nb\nc\n\nd\r\n\r\ne>f> g$ end\r"
	delimSets := [][]string{{"\n"}, {"\r\n"}, {"\n", "\r\n"}, {"\r\n\r\n", "\r\n"}, {"> ", ">", "$ "}, {"\n\n", "\n"}}
	rng := rand.New(rand.NewSource(1))
	splits := map[string][]int{"whole": {len(stream)}, "bytes": {1}, "twos": {2, 1, 3}}
	for i := 0; i < 5; i++ {
		var sizes []int
		for j := 0; j < 10; j++ {
			sizes = append(sizes, 1+rng.Intn(6))
		}
		splits[fmt.Sprintf("random%d", i)] = sizes
	}
	for _, delims := range delimSets {
		var ds [][]byte
		for _, d := range delims {
			ds = append(ds, []byte(d))
		}
		// The reference: the first delimiter to end in the whole stream,
		// ties to the longer, computed on the string.
		var want []string
		rest := stream
		for {
			end, which := firstDelim([]byte(rest), 0, ds)
			if which < 0 {
				break
			}
			want = append(want, fmt.Sprintf("%q/%d", rest[:end], which))
			rest = rest[end:]
		}
		for name, sizes := range splits {
			t.Run(strings.Join(delims, "|")+"/"+name, func(t *testing.T) {
				a, b := pipePair(t)
				go sendPieces(a.nc, stream, sizes, true)
				var got []string
				for {
					line, which, err := b.RecvUntilAny(context.Background(), ds, 100, true)
					if err != nil {
						if !errors.Is(err, ErrClosed) || string(line) != rest {
							t.Fatalf("at end: %q %v, want %q and closed", line, err, rest)
						}
						break
					}
					got = append(got, fmt.Sprintf("%q/%d", line, which))
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("got %v\nwant %v", got, want)
				}
				// The partial line stays readable after "closed".
				if left, err := b.Recv(context.Background(), 100); string(left) != rest || err != nil {
					t.Fatalf("left %q %v, want %q", left, err, rest)
				}
			})
		}
	}
}

func TestTimeoutLosesNothing(t *testing.T) {
	ctx := context.Background()
	quick := func() context.Context { return WithOpTimeout(ctx, 50*time.Millisecond) }
	h, _ := netproto.LengthHeader("!I")
	cases := []struct {
		name  string
		first string // sent before the timed-out call
		rest  string // sent after it
		recv  func(c *Conn, ctx context.Context) ([]byte, error)
		want  string
	}{
		{"recv_until", "hel", "lo\nnext", func(c *Conn, ctx context.Context) ([]byte, error) {
			return c.RecvUntil(ctx, []byte("\n"), 100)
		}, "hello"},
		{"recv_until split delimiter", "hello\r", "\nnext", func(c *Conn, ctx context.Context) ([]byte, error) {
			return c.RecvUntil(ctx, []byte("\r\n"), 100)
		}, "hello"},
		{"recv_exact", "hel", "lonext", func(c *Conn, ctx context.Context) ([]byte, error) {
			return c.RecvExact(ctx, 5)
		}, "hello"},
		{"recv_frame in header", "\x00\x00", "\x00\x05hellonext", func(c *Conn, ctx context.Context) ([]byte, error) {
			return c.RecvFrame(ctx, h, 100)
		}, "hello"},
		{"recv_frame in payload", "\x00\x00\x00\x05he", "llonext", func(c *Conn, ctx context.Context) ([]byte, error) {
			return c.RecvFrame(ctx, h, 100)
		}, "hello"},
		{"recv_msg in body", "\x10\x00\x00\x00{\"total_size\":5}he", "llonext", func(c *Conn, ctx context.Context) ([]byte, error) {
			_, _, body, err := c.RecvMsg(ctx, &netproto.Msg{Length: mustFormat("i"), SizeKey: "total_size", MaxHeader: 100, MaxBody: 100}, true)
			return body, err
		}, "hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tcpPair(t)
			a.Send(ctx, []byte(tc.first))
			// The first bytes are in b's socket buffer once b can see
			// them; wait for that rather than for a while.
			if got, err := b.Recv(ctx, 1); err != nil {
				t.Fatal(err)
			} else {
				b.Unrecv(got)
			}
			_, err := tc.recv(b, quick())
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("first call: %v, want timeout", err)
			}
			// Again: still a timeout, and still nothing lost.
			if _, err := tc.recv(b, quick()); !errors.Is(err, ErrTimeout) {
				t.Fatalf("second call: %v, want timeout", err)
			}
			a.Send(ctx, []byte(tc.rest))
			got, err := tc.recv(b, ctx)
			if err != nil || string(got) != tc.want {
				t.Fatalf("%q %v, want %q", got, err, tc.want)
			}
			if next, err := b.RecvExact(ctx, 4); string(next) != "next" {
				t.Fatalf("after: %q %v", next, err)
			}
		})
	}
}

func mustFormat(s string) *netproto.Format {
	f, err := netproto.LengthHeader(s)
	if err != nil {
		panic(err)
	}
	return f
}

// TestTimeoutPartialIsReturned checks the partial of a timed-out
// RecvExact: what arrived, returned and kept.
func TestTimeoutPartialIsReturned(t *testing.T) {
	a, b := tcpPair(t)
	ctx := context.Background()
	a.Send(ctx, []byte("abc"))
	first, _ := b.RecvExact(ctx, 1)
	b.Unrecv(first)
	part, err := b.RecvExact(WithOpTimeout(ctx, 30*time.Millisecond), 10)
	if !errors.Is(err, ErrTimeout) || string(part) != "abc" {
		t.Fatalf("%q %v", part, err)
	}
	if b.Buffered() != 3 {
		t.Fatalf("buffered %d, want 3", b.Buffered())
	}
}

// TestOpTimeoutOverridesConnTimeout: a per-call timeout longer than the
// connection's wins, and so does "none" (0).
func TestOpTimeoutOverridesConnTimeout(t *testing.T) {
	a, b, blocked := blockingPair(t)
	ctx := context.Background()
	b.SetTimeout(20 * time.Millisecond)
	go func() {
		<-blocked // RecvUntil waits on the socket, its deadline armed
		// The connection's timeout, twice over, from then: a RecvUntil
		// that wrongly kept it has failed by the time the line comes. (On
		// a loaded machine its failure may come late, after the line: the
		// test then misses the fault, it never fails wrongly.)
		time.Sleep(2 * b.Timeout())
		a.Send(ctx, []byte("late\n"))
	}()
	got, err := b.RecvUntil(WithOpTimeout(ctx, 5*time.Second), []byte("\n"), 100)
	if err != nil || string(got) != "late" {
		t.Fatalf("%q %v", got, err)
	}
	// The connection's own timeout still applies to calls without one.
	if _, err := b.Recv(ctx, 10); !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v, want timeout", err)
	}
	// Cancellation still interrupts a call with a per-call timeout, one
	// that is blocked on the socket when it comes.
	select {
	case <-blocked: // Recv's, above
	default:
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { <-blocked; cancel() }()
	if _, err := b.Recv(WithOpTimeout(cctx, 0), 10); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("%v, want interrupted", err)
	}
}

// blockingPair is tcpPair whose second Conn tells, on blocked, when a
// read of its socket found nothing and waits for the peer: the moment an
// operation is blocked, its deadline armed. A signal no one takes is
// dropped, but for the last one.
func blockingPair(t *testing.T) (*Conn, *Conn, <-chan struct{}) {
	t.Helper()
	if !rawReads {
		t.Skip("sockets are not read through their RawConn here: no read tells that it blocks")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	blocked := make(chan struct{}, 1)
	a, b := NewConn(nc), NewConn(blockSignal{sc.(*net.TCPConn), blocked})
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, blocked
}

// blockSignal is a TCP connection whose raw reads, those of the read
// buffer, send on blocked when they find nothing to read.
type blockSignal struct {
	*net.TCPConn
	blocked chan struct{}
}

func (s blockSignal) SyscallConn() (syscall.RawConn, error) {
	raw, err := s.TCPConn.SyscallConn()
	return signalRaw{raw, s.blocked}, err
}

type signalRaw struct {
	syscall.RawConn
	blocked chan struct{}
}

func (r signalRaw) Read(f func(fd uintptr) bool) error {
	return r.RawConn.Read(func(fd uintptr) bool {
		if f(fd) {
			return true
		}
		select {
		case r.blocked <- struct{}{}:
		default:
		}
		return false // the poller waits for the socket
	})
}

func TestUnrecvComesFirst(t *testing.T) {
	ctx := context.Background()
	h := mustFormat("!I")
	t.Run("recv_exact", func(t *testing.T) {
		a, b := tcpPair(t)
		a.Send(ctx, []byte("world"))
		b.Unrecv([]byte("hello "))
		if got, err := b.RecvExact(ctx, 11); string(got) != "hello world" {
			t.Fatalf("%q %v", got, err)
		}
	})
	t.Run("recv_frame", func(t *testing.T) {
		a, b := tcpPair(t)
		a.Send(ctx, []byte("\x00\x05hello"))
		b.Unrecv([]byte("\x00\x00"))
		if got, err := b.RecvFrame(ctx, h, 100); string(got) != "hello" {
			t.Fatalf("%q %v", got, err)
		}
	})
	t.Run("read and recv", func(t *testing.T) {
		a, b := tcpPair(t)
		b.Unrecv([]byte("cd"))
		b.Unrecv([]byte("ab"))
		buf := make([]byte, 10)
		n, err := b.Read(buf)
		if string(buf[:n]) != "abcd" || err != nil {
			t.Fatalf("%q %v", buf[:n], err)
		}
		a.Send(ctx, []byte("xyz"))
		b.Unrecv([]byte("w"))
		if got, _ := b.Recv(ctx, 10); string(got) != "w" {
			t.Fatalf("recv %q: put-back bytes come alone, without waiting", got)
		}
		if got, _ := b.Recv(ctx, 10); string(got) != "xyz" {
			t.Fatalf("recv %q", got)
		}
	})
	t.Run("recv_file", func(t *testing.T) {
		a, b := tcpPair(t)
		dir := t.TempDir()
		b.Unrecv([]byte("head-"))
		go a.Send(ctx, []byte("body"))
		r, err := b.RecvFile(ctx, "f", 9, FileOptions{Dir: dir, Hash: "md5"})
		if err != nil || r.N != 9 {
			t.Fatal(r, err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, "f"))
		if string(data) != "head-body" {
			t.Fatalf("%q", data)
		}
	})
	t.Run("recv_all", func(t *testing.T) {
		a, b := tcpPair(t)
		a.Send(ctx, []byte("rest"))
		a.CloseWrite()
		b.Unrecv([]byte("first "))
		if got, err := b.RecvAll(ctx, 100); string(got) != "first rest" || err != nil {
			t.Fatalf("%q %v", got, err)
		}
	})
}

func TestLimitsAreLoud(t *testing.T) {
	ctx := context.Background()
	t.Run("recv_until", func(t *testing.T) {
		a, b := pipePair(t)
		go sendPieces(a.nc, strings.Repeat("x", 40)+"\n", []int{7}, false)
		part, err := b.RecvUntil(ctx, []byte("\n"), 10)
		if !errors.Is(err, ErrTooLong) || len(part) < 10 {
			t.Fatalf("%d bytes, %v", len(part), err)
		}
		// Nothing lost: a bigger limit gets the whole line.
		got, err := b.RecvUntil(ctx, []byte("\n"), 100)
		if err != nil || string(got) != strings.Repeat("x", 40) {
			t.Fatalf("%q %v", got, err)
		}
	})
	t.Run("recv_until limit is exact", func(t *testing.T) {
		// Exactly limit bytes before the delimiter pass; one more fails,
		// however the bytes are split.
		for _, sizes := range [][]int{{1}, {3}, {100}} {
			a, b := pipePair(t)
			go sendPieces(a.nc, "0123456789\n01234567890\n", sizes, false)
			if got, err := b.RecvUntil(ctx, []byte("\n"), 10); err != nil || string(got) != "0123456789" {
				t.Fatalf("%v: %q %v", sizes, got, err)
			}
			part, err := b.RecvUntil(ctx, []byte("\n"), 10)
			if !errors.Is(err, ErrTooLong) || !strings.HasPrefix(string(part), "0123456789") {
				t.Fatalf("%v: %q %v, want the bytes and too long", sizes, part, err)
			}
			// Still there for a bigger limit.
			if got, err := b.RecvUntil(ctx, []byte("\n"), 11); err != nil || string(got) != "01234567890" {
				t.Fatalf("%v: %q %v", sizes, got, err)
			}
		}
	})
	t.Run("recv_all", func(t *testing.T) {
		a, b := tcpPair(t)
		a.Send(ctx, bytes.Repeat([]byte("y"), 5000))
		a.CloseWrite()
		part, err := b.RecvAll(ctx, 4096)
		if !errors.Is(err, ErrTooLong) || len(part) <= 4096 {
			t.Fatalf("%d bytes, %v", len(part), err)
		}
		all, err := b.RecvAll(ctx, 1<<20)
		if err != nil || len(all) != 5000 {
			t.Fatalf("%d bytes, %v", len(all), err)
		}
		// At the end of the stream: nothing more, and no error.
		if again, err := b.RecvAll(ctx, 10); len(again) != 0 || err != nil {
			t.Fatalf("%q %v", again, err)
		}
	})
}

// TestClosedMidLine: the partial line comes back with "closed" and stays
// readable.
func TestClosedMidLine(t *testing.T) {
	ctx := context.Background()
	a, b := tcpPair(t)
	a.Send(ctx, []byte("no newline"))
	a.Close()
	part, err := b.RecvUntil(ctx, []byte("\n"), 100)
	if !errors.Is(err, ErrClosed) || string(part) != "no newline" {
		t.Fatalf("%q %v", part, err)
	}
	if got, err := b.RecvAll(ctx, 100); string(got) != "no newline" || err != nil {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := b.Recv(ctx, 10); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

// TestConversationConcurrent runs a writer task and a reader task on each
// end at once (go test -race).
func TestConversationConcurrent(t *testing.T) {
	ctx := context.Background()
	a, b := tcpPair(t)
	const n = 2000
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // echo: b reads lines and writes them back
		defer wg.Done()
		for i := 0; i < n; i++ {
			line, _, err := b.RecvUntilAny(ctx, [][]byte{[]byte("\n")}, 100, true)
			if err != nil {
				t.Error(err)
				return
			}
			b.Send(ctx, line)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			a.Send(ctx, []byte(strconv.Itoa(i)+"\n"))
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			line, err := a.RecvUntil(ctx, []byte("\n"), 100)
			if err != nil || string(line) != strconv.Itoa(i) {
				t.Errorf("line %d: %q %v", i, line, err)
				return
			}
			if i%100 == 0 {
				a.Unrecv(nil)
			}
		}
	}()
	wg.Wait()
}

func TestProcessConversation(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	ctx := context.Background()
	p, err := StartProcess(ctx, Spawn{Argv: []string{"sh", "-c", "echo ready; while read l; do echo \"got $l\"; done; echo bye >&2; exit 3"}, Stderr: StderrPipe})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := p.Conn()
	if line, err := c.RecvUntil(ctx, []byte("\n"), 100); string(line) != "ready" {
		t.Fatalf("%q %v", line, err)
	}
	c.Send(ctx, []byte("one\n"))
	if line, err := c.RecvUntil(ctx, []byte("\n"), 100); string(line) != "got one" {
		t.Fatalf("%q %v", line, err)
	}
	// Nothing comes: a timeout, and the process goes on.
	if _, err := c.Recv(WithOpTimeout(ctx, 30*time.Millisecond), 10); !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v, want timeout", err)
	}
	c.Send(ctx, []byte("two\n"))
	c.CloseWrite()
	if rest, err := c.RecvAll(ctx, 100); string(rest) != "got two\n" || err != nil {
		t.Fatalf("%q %v", rest, err)
	}
	code, sig, err := p.Wait(ctx, 5*time.Second)
	if code != 3 || sig != "" || err != nil {
		t.Fatalf("code %d signal %q %v", code, sig, err)
	}
	if e, dropped := p.Stderr(); string(e) != "bye\n" || dropped != 0 {
		t.Fatalf("stderr %q dropped %d", e, dropped)
	}
	if _, err := c.Send(ctx, []byte("late\n")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close_stdin: %v", err)
	}
}

func TestProcessStderrMergedAndBounded(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	ctx := context.Background()
	p, err := StartProcess(ctx, Spawn{Shell: "echo out; echo err >&2"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	all, err := p.Conn().RecvAll(ctx, 100)
	if string(all) != "out\nerr\n" || err != nil {
		t.Fatalf("%q %v", all, err)
	}
	q, err := StartProcess(ctx, Spawn{Shell: "head -c 5000 /dev/zero >&2", Stderr: StderrPipe, MaxStderr: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, _, err := q.Wait(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if e, dropped := q.Stderr(); len(e) != 1000 || dropped != 4000 {
		t.Fatalf("kept %d dropped %d", len(e), dropped)
	}
}

// TestProcessGroupDiesWithOwner: cancelling the owner's context kills the
// process and the children it started in the background.
func TestProcessGroupDiesWithOwner(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	ctx, cancel := context.WithCancel(context.Background())
	p, err := StartProcess(ctx, Spawn{Shell: "sleep 60 & echo $!; wait"})
	if err != nil {
		t.Fatal(err)
	}
	line, err := p.Conn().RecvUntil(context.Background(), []byte("\n"), 100)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(string(line))
	cancel()
	code, sig, err := p.Wait(context.Background(), 5*time.Second)
	if err != nil || sig != syscall.SIGKILL.String() || code != -1 {
		t.Fatalf("code %d signal %q %v", code, sig, err)
	}
	testbin.WaitGone(t, child)
	if _, err := p.Conn().Recv(context.Background(), 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv after kill: %v", err)
	}
}

func TestProcessKillAndWaitTimeout(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	ctx := context.Background()
	p, err := StartProcess(ctx, Spawn{Argv: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.Wait(ctx, 20*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v, want timeout", err)
	}
	if err := p.Kill(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, sig, err := p.Wait(ctx, 5*time.Second)
	if code != -1 || sig != syscall.SIGTERM.String() || err != nil {
		t.Fatalf("code %d signal %q %v", code, sig, err)
	}
	if err := p.Kill(syscall.SIGKILL); err != nil {
		t.Fatalf("kill after exit: %v", err)
	}
	if _, err := StartProcess(ctx, Spawn{Argv: []string{"/nonexistent/program"}}); err == nil {
		t.Fatal("a missing program started")
	}
}
