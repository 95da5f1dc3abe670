package lua

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the client process of
// TestTenThousandConnections (one process holds the server's descriptors,
// the other the clients') and of BenchmarkFramedEchoProcess.
func TestMain(m *testing.M) {
	if spec := os.Getenv("WIRELAB_HOLD_CLIENTS"); spec != "" {
		holdClients(spec)
		return
	}
	if spec := os.Getenv("WIRELAB_LOADGEN"); spec != "" {
		runLoadgen(spec)
		return
	}
	os.Exit(m.Run())
}

// holdClients opens n connections to port, makes one framed round trip on
// each, prints "ready" and holds them until stdin closes.
func holdClients(spec string) {
	var port, n int
	fmt.Sscanf(spec, "%d,%d", &port, &n)
	conns := make([]net.Conn, 0, n)
	frame := []byte{0, 0, 0, 2, 'h', 'i'}
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			fmt.Println("dial:", err)
			os.Exit(1)
		}
		conns = append(conns, c)
		c.Write(frame)
	}
	reply := make([]byte, 6)
	for _, c := range conns {
		if _, err := io.ReadFull(c, reply); err != nil || string(reply[4:]) != "HI" {
			fmt.Println("reply:", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}

// TestTenThousandConnections holds 10,000 concurrent connections open on
// a Lua server, every one with its handler blocked in recv_frame, and
// measures the server process's memory against the same server in Go
// (a goroutine and a 4 KiB bufio.Reader per connection) in the same run.
func TestTenThousandConnections(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("opens 10,000 connections; memory is not measurable under -race")
	}
	const n = 10000
	nport, nstop := nativeUpper(t)
	native := holdMemory(t, nport, n)
	nstop()

	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: os.Stderr})
	defer func() { rt.Close(); rt.Wait(context.Background()) }()
	L := rt.NewState(rt.Context())
	defer L.Close()
	err := Run(L, "hold", []byte(`
		srv = socket.serve("127.0.0.1", 0, function(c)
			while true do
				local m = c:recv_frame()
				if not m then return end
				c:send_frame(m:upper())
			end
		end)`), nil)
	if err != nil {
		t.Fatal(err)
	}
	L.DoString("port = srv:port()")
	port, _ := strconv.Atoi(L.GetGlobal("port").String())
	scripted := holdMemory(t, port, n)
	t.Logf("per connection: Lua %.1f KiB, Go %.1f KiB (lua/native %.2f)",
		float64(scripted)/n/1024, float64(native)/n/1024, float64(scripted)/float64(native))
	// About 15 KiB each; 52 before the libraries were shared and idle
	// connections gave back their read buffers.
	if scripted > 18*n<<10 {
		t.Fatalf("10,000 connections cost %d MiB, over the 18 KiB per connection budget", scripted>>20)
	}
}

// holdMemory opens n connections to port from a process of their own,
// makes a round trip on each and returns how much this process's resident
// memory grew while they are held.
func holdMemory(t *testing.T, port, n int) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	before := rssBytes(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("WIRELAB_HOLD_CLIENTS=%d,%d", port, n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	start := time.Now()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("client process: %q", line)
	}
	elapsed := time.Since(start)
	runtime.GC()
	after := rssBytes(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d connections in %v; server RSS grew %.0f MiB (%.1f KiB per connection); heap in use %.0f MiB, stacks %.0f MiB",
		n, elapsed.Round(time.Millisecond), float64(after-before)/(1<<20), float64(after-before)/float64(n)/1024,
		float64(ms.HeapInuse)/(1<<20), float64(ms.StackInuse)/(1<<20))
	return after - before
}

// nativeUpper is the Go twin of TestTenThousandConnections's Lua server:
// it answers each frame with the frame in upper case. stop closes the
// listener and every connection, and waits for their goroutines.
func nativeUpper(t *testing.T) (port int, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := bufio.NewReaderSize(c, 4096)
				var head [4]byte
				for {
					if _, err := io.ReadFull(r, head[:]); err != nil {
						return
					}
					m := make([]byte, binary.BigEndian.Uint32(head[:])&0xffff)
					if _, err := io.ReadFull(r, m); err != nil {
						return
					}
					c.Write(append(head[:], bytes.ToUpper(m)...))
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// rssBytes returns this process's resident memory.
func rssBytes(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}
