package lua

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/internal/testbin"
)

// runWire runs src as a script with args and waits for its tasks; it
// returns what the script printed and wrote to stderr.
func runWire(t *testing.T, src string, args ...string) (string, string, error) {
	t.Helper()
	var out, errs testbin.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt := NewRuntime(ctx, Options{Stdout: &out, Stderr: &errs})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	err := Run(L, "test", []byte(src), args)
	if err == nil {
		err = rt.Wait(ctx)
	}
	return out.String(), errs.String(), err
}

// certDir writes a self-signed pair and returns its directory and
// fingerprint.
func certDir(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	fp, err := engine.WriteCert(dir, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return dir, fp
}

// TestTLSLuaServerGoClient serves TLS from Lua and talks to it with Go's
// crypto/tls, pinning the certificate; the handler reports its c:tls().
func TestTLSLuaServerGoClient(t *testing.T) {
	dir, fp := certDir(t)
	portFile := filepath.Join(t.TempDir(), "port")
	src := `
local dir, portfile = ...
local srv = assert(socket.serve("127.0.0.1", 0, function(c)
  local line = assert(c:recv_until("\n"))
  local s = assert(c:tls())
  c:send(line:upper() .. " " .. s.version .. " " .. s.cipher .. " " .. tostring(s.fingerprint) .. "\n")
end, {tls = {cert = dir .. "/cert.pem", key = dir .. "/key.pem"}}))
local f = io.open(portfile .. ".tmp", "w") f:write(srv:port()) f:close()
os.rename(portfile .. ".tmp", portfile)
task.sleep(0.05)
-- the probe is closed at once: an open file cannot be removed on Windows
local function exists(p) local f = io.open(p) if f then f:close() end return f ~= nil end
while not exists(portfile .. ".done") do task.sleep(0.01) end
srv:close()
print("ok")
`
	done := make(chan error, 1)
	go func() {
		_, errs, err := runWire(t, src, dir, portFile)
		if err != nil {
			err = fmt.Errorf("%v\n%s", err, errs)
		}
		done <- err
	}()
	var port string
	testbin.WaitFor(t, 10*time.Second, "the script's port file", func() bool {
		b, _ := os.ReadFile(portFile)
		port = string(b)
		return port != ""
	})
	defer os.WriteFile(portFile+".done", nil, 0o644)
	pem, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	cfg := &tls.Config{ServerName: "localhost", RootCAs: certPool(t, pem)}
	c, err := tls.Dial("tcp", "127.0.0.1:"+port, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "hello\n")
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// A server's peer certificate: none, since the client sent none.
	want := "HELLO TLS 1.3 " + tls.CipherSuiteName(c.ConnectionState().CipherSuite) + " nil\n"
	if reply != want {
		t.Fatalf("reply %q, want %q", reply, want)
	}
	if engine.Fingerprint(c.ConnectionState().PeerCertificates[0].Raw) != fp {
		t.Fatal("fingerprint differs from WriteCert's")
	}
	os.WriteFile(portFile+".done", nil, 0o644)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTLSGoServerLuaClient runs a crypto/tls echo server and connects to
// it from Lua in every way the options allow, and refuse.
func TestTLSGoServerLuaClient(t *testing.T) {
	dir, fp := certDir(t)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serveEcho(ln) // echo until the client's close_notify
	port := ln.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndexByte(port, ':')+1:]
	src := `
local port, dir, fp = tonumber(arg[1]), arg[2], arg[3]
local function echo(c)
  assert(c:send("ping\n"))
  assert(c:recv_until("\n") == "ping")
  c:shutdown()                 -- close_notify, then FIN: the echo ends
  local x, err = c:recv(10)
  assert(x == nil and err == "closed", tostring(err))
  c:close()
end

-- self-signed: refused by default, with advice
local c, err = socket.connect("127.0.0.1", port, {tls = true})
assert(c == nil and err:find("certificate not trusted", 1, true) and err:find("ca=", 1, true) and err:find(fp, 1, true), err)

-- pinned, with and without colons and prefix
echo(assert(socket.connect("127.0.0.1", port, {tls = {fingerprint = fp}})))
local bare = fp:sub(8):upper()
echo(assert(socket.connect("127.0.0.1", port, {tls = {fingerprint = bare}})))
local colons = "sha256:" .. fp:sub(8):gsub("(%x%x)", "%1:"):sub(1, -2)
echo(assert(socket.connect("127.0.0.1", port, {tls = {fingerprint = colons}})))

-- a wrong pin
local wrong = "sha256:" .. string.rep("0", 64)
c, err = socket.connect("127.0.0.1", port, {tls = {fingerprint = wrong}})
assert(c == nil and err:find("fingerprint mismatch", 1, true) and err:find(fp, 1, true), err)

-- the CA file, by name and by address; SNI that does not match
echo(assert(socket.connect("localhost", port, {tls = {ca = dir .. "/cert.pem"}})))
echo(assert(socket.connect("127.0.0.1", port, {tls = {ca = dir .. "/cert.pem"}})))
c, err = socket.connect("127.0.0.1", port, {tls = {ca = dir .. "/cert.pem", sni = "example.com"}})
assert(c == nil and err:find("not trusted"), err)

-- verify = false, only when asked (and said on stderr, once a run)
local c2 = assert(socket.connect("127.0.0.1", port, {tls = {verify = false}}))
local s = c2:tls()
assert(s.version == "TLS 1.3" and s.fingerprint == fp and s.cipher:find("^TLS_"), s.cipher)
echo(c2)
echo(assert(socket.connect("127.0.0.1", port, {tls = {verify = false}})))

-- a plain connection has no TLS
local ln = assert(socket.listen("127.0.0.1", 0))
local p = assert(socket.connect("127.0.0.1", ln:port()))
local none, why = p:tls()
assert(none == nil and why == "not tls")

-- misspelt options are errors, not ignored
for _, bad in ipairs({{tsl = true}, {tls = {verfy = false}}, {timout = 1}}) do
  local ok, e = pcall(socket.connect, "127.0.0.1", port, bad)
  assert(not ok and e:find("unknown option"), e)
end
local ok, e = pcall(socket.connect, "127.0.0.1", port, {tls = {fingerprint = "sha256:xyz"}})
assert(not ok and e:find("bad fingerprint"), e)
ok, e = pcall(socket.listen, "127.0.0.1", 0, {tls = {cert = dir .. "/cert.pem"}})
assert(not ok and e:find("cert and key"), e)
print("ok")
`
	out, errs, err := runWire(t, src, port, dir, fp)
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("%v\n%s\n%s", err, out, errs)
	}
	// Two connections without verification, one line.
	if want := "wirelab: warning: tls verify = false: the certificate of 127.0.0.1:" + port + " is not checked, so anyone on the way can pose as the server (said once a run)\n"; errs != want {
		t.Fatalf("stderr %q, want %q", errs, want)
	}
}

// TestLuaTrace traces a known exchange to a file and compares it, less
// the timestamps, with the expected hexdump; the delimiter recv_until
// consumes and the bytes read ahead are in it.
func TestLuaTrace(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.txt")
	src := `
local path = ...
local srv = assert(socket.serve("127.0.0.1", 0, function(c)
  local req = assert(c:recv_until("\r\n\r\n"))
  c:send("HTTP/1.0 200 OK\r\n\r\nhi\0")
end))
local c = assert(socket.connect("127.0.0.1", srv:port()))
c:trace({to = path})
assert(c:send("GET / HTTP/1.0\r\n\r\n"))
assert(c:recv_until("\r\n") == "HTTP/1.0 200 OK")
assert(c:recv_until("\r\n") == "")
assert(c:recv_exact(3) == "hi\0")
c:trace(false)
c:send("x")
srv:close()
print("ok", srv:port(), select(2, c["local"](c)))
`
	out, errs, err := runWire(t, src, trace)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	port, local := strings.Fields(out)[1], strings.Fields(out)[2]
	got, _ := os.ReadFile(trace)
	stamp := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6} `)
	want := "T -- connected to 127.0.0.1:" + port + " from 127.0.0.1:" + local + "\n" +
		"T >> sent 18 bytes to 127.0.0.1:" + port + " at offset 0\n" +
		"00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|\n" +
		"00000010  0d 0a                                             |..|\n" +
		"T << received 22 bytes from 127.0.0.1:" + port + " at offset 0\n" +
		"00000000  48 54 54 50 2f 31 2e 30  20 32 30 30 20 4f 4b 0d  |HTTP/1.0 200 OK.|\n" +
		"00000010  0a 0d 0a 68 69 00                                 |...hi.|\n"
	if s := stamp.ReplaceAllString(string(got), "T "); s != want {
		t.Fatalf("trace\n%s\nwant\n%s", s, want)
	}
}

// TestUnixSockets serves on a Unix socket, replaces a stale socket file,
// refuses to take over a live one and removes the file on close.
func TestUnixSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	if testbin.Wine() {
		// No AF_UNIX there: the script's error says so and what to do.
		out, _, err := runWire(t, `print(select(2, socket.listen("unix:" .. ..., {raise = false})))`, path)
		if err != nil || !strings.Contains(out, "no Unix-domain sockets") || !strings.Contains(out, "use TCP") {
			t.Fatalf("unclear error: %q %v", out, err)
		}
		t.Skip("skipped under Wine: " + testbin.WineUnix)
	}
	src := `
local path = ...
local a = "unix:" .. path
-- a stale file: a listener whose file is left behind
local ln = assert(socket.listen(a))
local live, err = socket.listen(a, {raise = false})
assert(live == nil and err == "address in use", err)
local ok, msg = pcall(socket.listen, a)
assert(not ok and msg:find("listen " .. a .. ": address in use", 1, true), msg)
local srv = assert(socket.serve(a .. "2", function(c) c:send(c:recv_until("\n"):upper()) end))
local c = assert(socket.connect(a .. "2"))
c:send("hi\n")
assert(c:recv_exact(2) == "HI")
c:close()
srv:close()
srv:wait()
assert(io.open(path .. "2") == nil, "socket file left after close")
ln:close()
assert(io.open(path) == nil, "socket file left after close")
print("ok")
`
	out, errs, err := runWire(t, src, path)
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("%v\n%s\n%s", err, out, errs)
	}
	// A stale file from a process that died: a bound socket never
	// listened on, as a killed server leaves.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	ul, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ul.(*net.UnixListener).SetUnlinkOnClose(false)
	ul.Close()
	_, errs3, err := runWire(t, `local p = "unix:" .. ... local ln = assert(socket.listen(p)) ln:close() assert(io.open(p:sub(6)) == nil)`, stale)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v %s", err, errs3)
	}
	f, err := os.Create(stale)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, errs2, err := runWire(t, `local ok, err = pcall(socket.listen, "unix:" .. ...) assert(not ok and err:find("address in use: .* exists and is not a socket"), err)`, stale)
	if err != nil {
		t.Fatalf("%v %s", err, errs2)
	}
}

func certPool(t *testing.T, pem []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("bad PEM")
	}
	return p
}

// TestSocketTraceEverywhere: socket.trace covers the connections made
// afterwards in every task, a server's handlers included, and
// socket.trace(false) stops it for later ones.
func TestSocketTraceEverywhere(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "all.txt")
	src := `
local path = ...
local early = assert(socket.listen("127.0.0.1", 0))
socket.trace({to = path})
local srv = assert(socket.serve("127.0.0.1", 0, function(c)
  c:send(c:recv_until("\n"):upper() .. "\n")
end))
local t = task.spawn(function(port)
  local c = assert(socket.connect("127.0.0.1", port))
  c:send("from task\n")
  return c:recv_until("\n")
end, srv:port())
local ok, got = t:wait()
assert(ok and got == "FROM TASK", got)
socket.trace(false)
local c = assert(socket.connect("127.0.0.1", srv:port()))
c:send("untraced\n")
assert(c:recv_until("\n") == "UNTRACED")
srv:close()
print("ok")
`
	if _, errs, err := runWire(t, src, trace); err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	got, _ := os.ReadFile(trace)
	s := string(got)
	// the task's client and the handler each sent and received once
	if n := strings.Count(s, ">> sent 10 bytes"); n != 2 {
		t.Fatalf("%d sends of 10 bytes traced, want 2:\n%s", n, s)
	}
	if n := strings.Count(s, "<< received 10 bytes"); n != 2 {
		t.Fatalf("%d receives of 10 bytes traced, want 2:\n%s", n, s)
	}
	if strings.Contains(s, "untraced") || strings.Contains(s, "UNTRACED") {
		t.Fatalf("traced after socket.trace(false):\n%s", s)
	}
}
