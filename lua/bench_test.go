package lua

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/internal/loadgen"
	"github.com/wirelab/wirelab/netproto"
)

// echoClients drives n round trips of a 64-byte frame ("!I" header)
// against port from clients connections at once, and returns the time.
func echoClients(tb testing.TB, port, clients, n int) time.Duration {
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			tb.Fatal(err)
		}
		conns[i] = c
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func(c net.Conn, rounds int) {
			defer wg.Done()
			defer c.Close()
			msg := make([]byte, 4+64)
			binary.BigEndian.PutUint32(msg, 64)
			reply := make([]byte, 4+64)
			for r := 0; r < rounds; r++ {
				if _, err := c.Write(msg); err != nil {
					tb.Error(err)
					return
				}
				if _, err := io.ReadFull(c, reply); err != nil {
					tb.Error(err)
					return
				}
			}
		}(c, n/clients+boolInt(i < n%clients))
	}
	wg.Wait()
	return time.Since(start)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nativeEcho is the reference: a framed echo server in plain Go, a
// goroutine per connection, as one would write it by hand.
func nativeEcho(tb testing.TB) (port int, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				var hdr [4]byte
				for {
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						return
					}
					p := make([]byte, binary.BigEndian.Uint32(hdr[:]))
					if _, err := io.ReadFull(r, p); err != nil {
						return
					}
					out := make([]byte, 0, 4+len(p))
					out = append(append(out, hdr[:]...), p...)
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, func() { ln.Close() }
}

// luaEcho starts the same server written in Lua on wirelab.
func luaEcho(tb testing.TB) (port int, stop func()) {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: os.Stderr})
	L := rt.NewState(rt.Context())
	err := Run(L, "echo", []byte(`
		srv = socket.serve("127.0.0.1", 0, function(c)
			while true do
				local m = c:recv_frame()
				if not m then return end
				c:send_frame(m)
			end
		end)`), nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := L.DoString("port = srv:port()"); err != nil {
		tb.Fatal(err)
	}
	port, _ = strconv.Atoi(L.GetGlobal("port").String())
	return port, func() { rt.Close(); rt.Wait(context.Background()); L.Close() }
}

// engineEcho is the same server with its handler in Go on wirelab's
// engine: between nativeEcho and luaEcho, it tells the engine's share of
// the gap from the Lua handler's.
func engineEcho(tb testing.TB) (port int, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := engine.Listen(ctx, "127.0.0.1", 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	h, _ := netproto.LengthHeader("!I")
	srv := engine.Serve(ctx, ln, engine.ServerOptions{}, func(ctx context.Context, c *engine.Conn) {
		var m []byte // each frame is read into the previous one's buffer
		for {
			var err error
			m, err = c.RecvFrameInto(ctx, h, netproto.DefaultMaxFrame, m)
			if err != nil || c.SendFrame(ctx, h, m) != nil {
				return
			}
		}
	})
	return srv.Port(), func() { cancel(); srv.Wait(context.Background()) }
}

// BenchmarkFramedEcho compares a Lua-scripted framed echo server with the
// native Go one, 50 clients at once; lua/native is the ratio of messages
// per second (1.0: as fast as Go).
func BenchmarkFramedEcho(b *testing.B) {
	const clients = 50
	nport, nstop := nativeEcho(b)
	defer nstop()
	lport, lstop := luaEcho(b)
	defer lstop()
	n := max(b.N, clients)
	echoClients(b, nport, clients, clients) // warm up both
	echoClients(b, lport, clients, clients)
	b.ResetTimer()
	var native, scripted time.Duration
	// Alternate quarters so that a machine's drift touches both alike.
	for q := 0; q < 4; q++ {
		native += echoClients(b, nport, clients, n/4)
		scripted += echoClients(b, lport, clients, n/4)
	}
	b.ReportMetric(float64(n)/native.Seconds(), "native-msg/s")
	b.ReportMetric(float64(n)/scripted.Seconds(), "lua-msg/s")
	b.ReportMetric(native.Seconds()/scripted.Seconds(), "lua/native")
}

// readsSideBySide streams data to a Go reader (native, on a bufio.Reader)
// and to a script (script, given the port), over loopback TCP each time,
// and returns the time each took to read it all. Successive calls (the
// rounds of -count) swap which goes first, so that neither always runs on
// a machine the other warmed.
func readsSideBySide(b *testing.B, data []byte, native func(*bufio.Reader) error, script func(port int) string) (nativeTime, scriptTime time.Duration) {
	feed := func() (int, func()) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.Write(data)
		}()
		return ln.Addr().(*net.TCPAddr).Port, func() { ln.Close() }
	}
	goRead := func() time.Duration {
		port, stop := feed()
		defer stop()
		start := time.Now()
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := native(bufio.NewReader(c)); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	luaRead := func() time.Duration {
		port, stop := feed()
		defer stop()
		rt := NewRuntime(context.Background(), Options{})
		defer rt.Close()
		L := rt.NewState(rt.Context())
		defer L.Close()
		start := time.Now()
		if err := Run(L, "bench", []byte(script(port)), nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	if sideBySideRounds.Add(1)%2 == 0 {
		scriptTime = luaRead()
		nativeTime = goRead()
	} else {
		nativeTime = goRead()
		scriptTime = luaRead()
	}
	return nativeTime, scriptTime
}

// sideBySideRounds counts readsSideBySide's calls, to alternate the order.
var sideBySideRounds atomic.Int64

// BenchmarkRecvExact reads 64-byte records with c:recv_exact in Lua, and
// with io.ReadFull in Go over the same kind of socket.
func BenchmarkRecvExact(b *testing.B) {
	const record = 64
	n := max(b.N, 1000)
	native, scripted := readsSideBySide(b, make([]byte, n*record), func(r *bufio.Reader) error {
		buf := make([]byte, record)
		for i := 0; i < n; i++ {
			if _, err := io.ReadFull(r, buf); err != nil {
				return err
			}
		}
		return nil
	}, func(port int) string {
		return fmt.Sprintf(`
			local c = assert(socket.connect("127.0.0.1", %d))
			for i = 1, %d do assert(c:recv_exact(%d)) end
			c:close()`, port, n, record)
	})
	b.ReportMetric(float64(n)/native.Seconds(), "native-rec/s")
	b.ReportMetric(float64(n)/scripted.Seconds(), "lua-rec/s")
	b.ReportMetric(native.Seconds()/scripted.Seconds(), "lua/native")
}

// BenchmarkFileTransferMD5 moves a 64 MiB file over loopback with md5 on
// both ends, driven by Lua (send_file/recv_file), against plain Go doing
// the same with io.Copy; lua/native near 1 means the script costs nothing.
func BenchmarkFileTransferMD5(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	f, _ := os.Create(src)
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	const size = 64 << 20
	for i := 0; i < size/len(chunk); i++ {
		f.Write(chunk)
	}
	f.Close()

	var native, scripted time.Duration
	b.SetBytes(size)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		nativeTransfer(b, src, filepath.Join(dir, "native-"+strconv.Itoa(i)), size)
		native += time.Since(start)

		rt := NewRuntime(context.Background(), Options{})
		L := rt.NewState(rt.Context())
		start = time.Now()
		err := Run(L, "transfer", []byte(fmt.Sprintf(`
			local ln = assert(socket.listen("127.0.0.1", 0))
			local t = task.spawn(function()
				local c = assert(socket.connect("127.0.0.1", ln:port()))
				return c:send_file(%q, {hash = "md5"})
			end)
			local s = assert(ln:accept())
			local n, sum = assert(s:recv_file(%q, %d, {hash = "md5"}))
			local ok, sn, ssum = t:wait()
			assert(ok and sum == ssum, "digests differ")`, src, filepath.Join(dir, "lua-"+strconv.Itoa(i)), size)), nil)
		scripted += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		L.Close()
		rt.Close()
		os.Remove(filepath.Join(dir, "native-"+strconv.Itoa(i)))
		os.Remove(filepath.Join(dir, "lua-"+strconv.Itoa(i)))
	}
	b.ReportMetric(float64(b.N*size)/native.Seconds()/(1<<20), "native-MiB/s")
	b.ReportMetric(float64(b.N*size)/scripted.Seconds()/(1<<20), "lua-MiB/s")
	b.ReportMetric(native.Seconds()/scripted.Seconds(), "lua/native")
}

// nativeTransfer is the reference: the same transfer in plain Go, md5 on
// both sides, fsync at the end as recv_file does.
func nativeTransfer(tb testing.TB, src, dst string, size int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	sent := make(chan []byte, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			sent <- nil
			return
		}
		defer c.Close()
		f, _ := os.Open(src)
		defer f.Close()
		h := md5.New()
		io.Copy(c, io.TeeReader(f, h))
		sent <- h.Sum(nil)
	}()
	c, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	out, _ := os.Create(dst)
	h := md5.New()
	io.CopyN(io.MultiWriter(out, h), c, size)
	out.Sync()
	out.Close()
	if string(<-sent) != string(h.Sum(nil)) {
		tb.Fatal("digests differ")
	}
}

// respReplies are the replies BenchmarkRESP parses, one of each kind a
// Redis client meets most: status, integer, bulk string, array.
const respReplies = "+OK\r\n:1234\r\n$11\r\nhello world\r\n*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"

// respLua is a RESP reply parser written as the README recommends: a line
// with recv_until, a bulk string with recv_exact, library functions in
// locals.
const respLua = `
local sub, tonumber = string.sub, tonumber
local function reply(c)
  local line = c:recv_until("\r\n")
  local kind, rest = sub(line, 1, 1), sub(line, 2)
  if kind == "+" then return rest
  elseif kind == ":" then return tonumber(rest)
  elseif kind == "$" then
    local n = tonumber(rest)
    if n < 0 then return nil end
    return sub(c:recv_exact(n + 2), 1, n)
  elseif kind == "*" then
    local t = {}
    for i = 1, tonumber(rest) do t[i] = reply(c) end
    return t
  elseif kind == "-" then return nil, rest
  end
  error("bad reply: " .. line)
end
`

// respGo parses one RESP reply from r, as respLua does.
func respGo(r *bufio.Reader) (any, error) {
	line, err := r.ReadSlice('\n')
	if err != nil || len(line) < 3 {
		return nil, fmt.Errorf("bad reply %q: %v", line, err)
	}
	rest := string(line[1 : len(line)-2])
	switch line[0] {
	case '+':
		return rest, nil
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$':
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, err
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = respGo(r); err != nil {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("bad reply %q", line)
}

// BenchmarkRESP parses Redis replies streamed by a server: in Lua with
// recv_until and recv_exact, and in Go with bufio; an op is the four
// replies of respReplies.
func BenchmarkRESP(b *testing.B) {
	n := max(b.N, 1000)
	native, scripted := readsSideBySide(b, []byte(strings.Repeat(respReplies, n)), func(r *bufio.Reader) error {
		for i := 0; i < 4*n; i++ {
			if _, err := respGo(r); err != nil {
				return err
			}
		}
		return nil
	}, func(port int) string {
		return respLua + fmt.Sprintf(`
			local c = assert(socket.connect("127.0.0.1", %d))
			for i = 1, %d do
				assert(reply(c) == "OK")
				assert(reply(c) == 1234)
				assert(reply(c) == "hello world")
				assert(reply(c)[2] == "bar")
			end
			c:close()`, port, n)
	})
	b.ReportMetric(float64(4*n)/native.Seconds(), "native-replies/s")
	b.ReportMetric(float64(4*n)/scripted.Seconds(), "lua-replies/s")
	b.ReportMetric(native.Seconds()/scripted.Seconds(), "lua/native")
}

// runLoadgen is the client process of BenchmarkFramedEchoProcess: spec is
// "addr,clients,n,size"; it prints the round trips per second.
func runLoadgen(spec string) {
	var addr string
	var clients, n, size int
	parts := strings.Split(spec, ",")
	if len(parts) == 4 {
		addr = parts[0]
		clients, _ = strconv.Atoi(parts[1])
		n, _ = strconv.Atoi(parts[2])
		size, _ = strconv.Atoi(parts[3])
	}
	rate, err := loadgen.Run(addr, clients, n, size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Printf("%.0f\n", rate)
}

// loadFrom runs n round trips of 64 bytes against port from a process of
// its own, 50 clients at once, and returns the time they took.
func loadFrom(b *testing.B, port, n int) time.Duration {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("WIRELAB_LOADGEN=127.0.0.1:%d,50,%d,64", port, n))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("load generator: %v", err)
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || rate <= 0 {
		b.Fatalf("load generator said %q", out)
	}
	return time.Duration(float64(n) / rate * float64(time.Second))
}

// BenchmarkFramedEchoProcess is BenchmarkFramedEcho with the clients in a
// process of their own (internal/loadgen), as bench/echo.sh runs it: the
// ratio then measures the servers rather than clients sharing their CPU.
// An op is one round trip; rounds alternate between the servers.
// engine/native is the same server with a Go handler on wirelab's engine
// (engineEcho): the part of the gap that is not the Lua handler's.
func BenchmarkFramedEchoProcess(b *testing.B) {
	nport, nstop := nativeEcho(b)
	defer nstop()
	eport, estop := engineEcho(b)
	defer estop()
	lport, lstop := luaEcho(b)
	defer lstop()
	n := max(b.N, 20000)
	loadFrom(b, nport, 5000) // warm up all three
	loadFrom(b, eport, 5000)
	loadFrom(b, lport, 5000)
	b.ResetTimer()
	var native, eng, scripted time.Duration
	for q := 0; q < 4; q++ {
		native += loadFrom(b, nport, n/4)
		eng += loadFrom(b, eport, n/4)
		scripted += loadFrom(b, lport, n/4)
	}
	b.ReportMetric(float64(n)/native.Seconds(), "native-msg/s")
	b.ReportMetric(float64(n)/scripted.Seconds(), "lua-msg/s")
	b.ReportMetric(native.Seconds()/scripted.Seconds(), "lua/native")
	b.ReportMetric(native.Seconds()/eng.Seconds(), "engine/native")
}
