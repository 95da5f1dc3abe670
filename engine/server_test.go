package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/wirelab/wirelab/netproto"
)

// TestMain doubles as the stalling clients of TestServerSurvivesStalledClients,
// run in a process of their own so that each side has its descriptors.
func TestMain(m *testing.M) {
	if spec := os.Getenv("WIRELAB_STALL"); spec != "" {
		var port, n int
		var complete bool
		fmt.Sscanf(spec, "%d,%d,%t", &port, &n, &complete)
		if err := stall(port, n, complete); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin) // hold them until the test is done
		return
	}
	os.Exit(m.Run())
}

// frameEcho serves framed requests with an echo.
func frameEcho(ctx context.Context, c *Conn) {
	h, _ := netproto.CompileFormat("!I")
	for {
		m, err := c.RecvFrame(ctx, h, 1<<20)
		if err != nil {
			return
		}
		if c.SendFrame(ctx, h, m) != nil {
			return
		}
	}
}

func startServer(t *testing.T, o ServerOptions) *Server {
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(context.Background(), ln, o, frameEcho)
	t.Cleanup(func() { s.Close(); s.Wait(context.Background()) })
	return s
}

// ask makes one framed round trip on a new connection and returns how
// long it took.
func ask(t *testing.T, port int) time.Duration {
	t.Helper()
	start := time.Now()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte{0, 0, 0, 2, 'h', 'i'})
	reply := make([]byte, 6)
	if _, err := io.ReadFull(c, reply); err != nil || string(reply[4:]) != "hi" {
		t.Fatalf("reply %q: %v", reply, err)
	}
	return time.Since(start)
}

// stall opens n connections; each sends a frame header's first 2 bytes
// (a request that never completes) or, with complete, one whole request
// whose answer it reads, and then nothing more.
func stall(port, n int, complete bool) error {
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return fmt.Errorf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if complete {
			c.Write([]byte{0, 0, 0, 2, 'h', 'i'})
		} else {
			c.Write([]byte{0, 0})
		}
	}
	if complete {
		reply := make([]byte, 6)
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			if _, err := io.ReadFull(c, reply); err != nil {
				return err
			}
		}
	}
	return nil
}

// stallFrom runs stall in a child process and waits until it is ready.
func stallFrom(t *testing.T, port, n int, complete bool) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("WIRELAB_STALL=%d,%d,%t", port, n, complete))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("stalling clients: %q", line)
	}
}

// TestServerSurvivesStalledClients fills every slot with clients that
// stall, before or after their first request: a new client is still
// answered within 2 s.
func TestServerSurvivesStalledClients(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	for _, complete := range []bool{false, true} {
		name := "unfinished first request"
		if complete {
			name = "idle after a request"
		}
		t.Run(name, func(t *testing.T) {
			s := startServer(t, ServerOptions{MaxConns: n})
			stallFrom(t, s.Port(), n, complete)
			if complete {
				time.Sleep(evictIdle) // they must look idle
			}
			for i := 0; i < 3; i++ {
				d := ask(t, s.Port())
				if d > 2*time.Second {
					t.Fatalf("a new client waited %v", d)
				}
				t.Logf("%d stalled connections: a new client answered in %v", n, d)
			}
			if _, open, evicted := s.Stats(); open > int64(n) || evicted < 1 {
				t.Fatalf("%d open, %d evicted", open, evicted)
			}
		})
	}
}

// TestServerGrace: a connection that does not complete its first request
// within the grace time is closed; one that did stays.
func TestServerGrace(t *testing.T) {
	s := startServer(t, ServerOptions{Grace: 200 * time.Millisecond})
	slow, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte{0, 0})
	done, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer done.Close()
	done.Write([]byte{0, 0, 0, 1, 'x'})
	reply := make([]byte, 5)
	io.ReadFull(done, reply)
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := slow.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the slow client got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
	done.Write([]byte{0, 0, 0, 1, 'y'})
	done.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(done, reply); err != nil || reply[4] != 'y' {
		t.Fatalf("the client that made a request was closed too: %v", err)
	}
}

// TestServerWaitsWhenAllBusy: when every connection is busy, a new client
// waits for a slot instead of closing anyone.
func TestServerWaitsWhenAllBusy(t *testing.T) {
	release := make(chan struct{})
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(context.Background(), ln, ServerOptions{MaxConns: 1}, func(ctx context.Context, c *Conn) {
		if _, err := c.Recv(ctx, 10); err != nil {
			return
		}
		c.Send(ctx, []byte("busy"))
		<-release // working, not idle: it just sent
		c.Send(ctx, []byte("done"))
	})
	defer func() { s.Close(); s.Wait(context.Background()) }()
	first, _ := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port()))
	defer first.Close()
	first.Write([]byte("a"))
	buf := make([]byte, 4)
	io.ReadFull(first, buf)
	second, _ := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port()))
	defer second.Close()
	second.Write([]byte("b"))
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := second.Read(buf); err == nil {
		t.Fatal("served while the only slot was busy")
	}
	close(release)
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(first, buf); err != nil || string(buf) != "done" {
		t.Fatalf("the busy client was cut off: %q %v", buf, err)
	}
}

// TestRecvFileMinRate: a body dripped slower than MinRate fails with
// ErrTooSlow soon after the grace, and leaves no file; one that keeps the
// rate arrives whole.
func TestRecvFileMinRate(t *testing.T) {
	for _, c := range []struct {
		name  string
		every time.Duration
		fails bool
	}{{"dripped", 100 * time.Millisecond, true}, {"steady", time.Millisecond, false}} {
		t.Run(c.name, func(t *testing.T) {
			a, b := tcpPair(t)
			dir := t.TempDir()
			go func() {
				for i := 0; i < 200; i++ {
					if _, err := a.Send(context.Background(), []byte("x")); err != nil {
						return
					}
					time.Sleep(c.every)
				}
			}()
			start := time.Now()
			_, err := b.RecvFile(context.Background(), "f", 200, FileOptions{Dir: dir, MinRate: 100, RateGrace: 300 * time.Millisecond})
			if c.fails != errors.Is(err, ErrTooSlow) {
				t.Fatalf("%v after %v", err, time.Since(start))
			}
			entries, _ := os.ReadDir(dir)
			if c.fails && (len(entries) != 0 || time.Since(start) > 3*time.Second) {
				t.Fatalf("left %v, after %v", entries, time.Since(start))
			}
			if !c.fails && len(entries) != 1 {
				t.Fatalf("kept %v", entries)
			}
		})
	}
}

// TestCleanPartial removes the partial files no process holds, and keeps
// one whose transfer is under way, files there that only look alike, and
// every file of the directory itself, however it is named: a stored
// upload named like a partial file is never taken for one.
func TestCleanPartial(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	_, live, err := createTemp(root, "live.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	part := dir + "/" + PartialDir
	os.WriteFile(part+"/dead.bin.part-0123456789ab", nil, 0o600)
	os.WriteFile(part+"/other.part-notours", nil, 0o600)
	os.WriteFile(dir+"/.wc.txt.part-0123456789ab", nil, 0o600)
	os.WriteFile(dir+"/visible.part-0123456789ab", nil, 0o600)
	n, err := CleanPartial(dir)
	if err != nil || n != 1 {
		t.Fatalf("removed %d: %v", n, err)
	}
	for d, want := range map[string]int{dir: 3, part: 2} {
		if entries, _ := os.ReadDir(d); len(entries) != want {
			t.Fatalf("%s holds %v", d, entries)
		}
	}
	// With nothing left to clean, the partial directory itself goes.
	live.Close()
	os.Remove(part + "/other.part-notours")
	if n, err := CleanPartial(dir); err != nil || n != 1 {
		t.Fatalf("second clean removed %d: %v", n, err)
	}
	if _, err := os.Stat(part); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s left: %v", part, err)
	}
}

// TestHashFileInterrupted: hashing a huge file stops when its context is
// cancelled, so srv:close() is not held up by a handler hashing.
func TestHashFileInterrupted(t *testing.T) {
	path := t.TempDir() + "/sparse"
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(100 << 30) // 100 GiB of holes: minutes to read
	f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err = HashFile(ctx, "md5", path, "")
	if !errors.Is(err, ErrInterrupted) || time.Since(start) > 2*time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
}
