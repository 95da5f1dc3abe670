package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirelab/wirelab/internal/testbin"
	"github.com/wirelab/wirelab/internal/tshark"
)

// exchangeScript talks to its own server: for each size, a line with the
// size and that many bytes, answered in two sends; then UDP datagrams.
const exchangeScript = `
local sizes = {1, 100, 1500, 65535, 65536, 200000}
local srv = socket.serve("127.0.0.1", 0, function(c)
  while true do
    local n = c:recvline()
    if not n then break end
    n = tonumber(n)
    local data = c:recv_exact(n)
    local half = math.floor(n / 2)
    c:send(data:sub(1, half))
    c:send(data:sub(half + 1))
  end
  c:shutdown()
end)
local c = socket.connect("127.0.0.1", srv:port())
for _, n in ipairs(sizes) do
  c:mark("size " .. n)
  c:sendline(tostring(n))
  c:send(string.rep(string.char(n % 251), n))
  assert(#c:recv_exact(n) == n)
end
c:shutdown()
assert(c:recv_all() == "")
c:close()
local u, v = socket.udp("127.0.0.1", 0), socket.udp("127.0.0.1", 0)
for i = 1, 5 do
  v:sendto(string.rep("u", i * 100), "127.0.0.1", u:port())
  u:recvfrom()
end
srv:close()
`

// exchangeBytes is what each side of exchangeScript sends.
func exchangeBytes() (client, server []byte) {
	for _, n := range []int{1, 100, 1500, 65535, 65536, 200000} {
		client = append(client, strconv.Itoa(n)+"\n"...)
		data := bytes.Repeat([]byte{byte(n % 251)}, n)
		client = append(client, data...)
		server = append(server, data...)
	}
	return client, server
}

// TestRunPcap: wirelab run --pcap writes one TCP stream for a connection
// whose two ends are the script's, with every byte each side sent, in
// packets of the sizes of the send calls (split at the MSS), the marks on
// the packets after them, FINs both ways, and one UDP packet a datagram.
// Read back with gopacket, and by tshark where it is installed.
func TestRunPcap(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	dir := t.TempDir()
	script, file := filepath.Join(dir, "x.lua"), filepath.Join(dir, "x.pcapng")
	os.WriteFile(script, []byte(exchangeScript), 0o644)
	// The order: run's flag after the script (wirelab run
	// sticky_demo --pcap demo.pcapng).
	if out, err := exec.Command(binary, "run", script, "--pcap", file).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantClient, wantServer := exchangeBytes()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var sent [2][]byte // by the connecting end, by the accepting end
	var clientPort layers.TCPPort
	var syns, fins, udps int
	var udpLens []int
	for {
		b, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
		if tcp, ok := p.TransportLayer().(*layers.TCP); ok {
			if tcp.SYN && !tcp.ACK {
				syns++
				clientPort = tcp.SrcPort
			}
			if tcp.FIN {
				fins++
			}
			side := 1
			if tcp.SrcPort == clientPort {
				side = 0
			}
			sent[side] = append(sent[side], tcp.Payload...)
		}
		if udp, ok := p.TransportLayer().(*layers.UDP); ok {
			udps++
			udpLens = append(udpLens, len(udp.Payload))
		}
	}
	if syns != 1 || fins != 2 || !bytes.Equal(sent[0], wantClient) || !bytes.Equal(sent[1], wantServer) {
		t.Fatalf("%d SYNs, %d FINs (want 1 and 2); the client sent %d bytes (want %d, equal: %v), the server %d (want %d, equal: %v)",
			syns, fins, len(sent[0]), len(wantClient), bytes.Equal(sent[0], wantClient), len(sent[1]), len(wantServer), bytes.Equal(sent[1], wantServer))
	}
	if fmt.Sprint(udpLens) != "[100 200 300 400 500]" {
		t.Fatalf("UDP payloads %v, want one packet for each of the 5 datagrams", udpLens)
	}

	fl := tshark.FollowTCP(t, file, 0)
	if !bytes.Equal(fl.Data[0], wantClient) || !bytes.Equal(fl.Data[1], wantServer) {
		t.Fatalf("tshark follows %d and %d bytes, want %d and %d", len(fl.Data[0]), len(fl.Data[1]), len(wantClient), len(wantServer))
	}
	if bad, all := tshark.Expert(tshark.Run(t, "-r", file, "-q", "-z", "expert")); len(bad) > 0 {
		t.Fatalf("tshark's expert info has errors or warnings:\n%s", strings.Join(all, "\n"))
	}
	comments := tshark.Run(t, "-r", file, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment")
	if want := "size 1\nsize 100\nsize 1500\nsize 65535\nsize 65536\nsize 200000\n"; comments != want {
		t.Fatalf("comments %q, want %q", comments, want)
	}
	if lens := tshark.Run(t, "-r", file, "-Y", "udp", "-T", "fields", "-e", "udp.length"); lens != "108\n208\n308\n408\n508\n" {
		t.Fatalf("tshark's UDP lengths %q", lens)
	}
}

// TestConnectPcapAndTextTrace: connect --pcap writes the connection to a
// real peer, and --trace=text shows its bytes as escaped text with the
// life of the connection.
func TestConnectPcapAndTextTrace(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 100)
		n, _ := c.Read(buf)
		c.Write([]byte("+PONG\r\n"))
		_ = n
	}()
	file := filepath.Join(t.TempDir(), "c.pcapng")
	cmd := exec.Command(binary, "connect", ln.Addr().String(), "--trace=text", "--pcap", file)
	cmd.Stdin = strings.NewReader("PING\r\n")
	var stderr testbin.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || string(out) != "+PONG\r\n" {
		t.Fatalf("%v: %q\n%s", err, out, stderr.String())
	}
	for _, want := range []string{"-- connected to " + ln.Addr().String(), " at offset 0\nPING\\r\\n\n", "+PONG\\r\\n\n", "<< FIN from " + ln.Addr().String(), ">> FIN to "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the text trace lacks %q:\n%s", want, stderr.String())
		}
	}
	fl := tshark.FollowTCP(t, file, 0)
	if string(fl.Data[0]) != "PING\r\n" || string(fl.Data[1]) != "+PONG\r\n" {
		t.Fatalf("tshark follows %q and %q", fl.Data[0], fl.Data[1])
	}
	if bad, all := tshark.Expert(tshark.Run(t, "-r", file, "-q", "-z", "expert")); len(bad) > 0 {
		t.Fatalf("expert:\n%s", strings.Join(all, "\n"))
	}
}

// TestTLSPcap: TLS connections are captured beneath TLS, as their records
// crossed, with the secrets in the file, so that tshark, given no key of
// its own, shows the HTTP inside: a script's client and server in one
// process (TLS 1.3, one stream), listen --tls with an outside TLS 1.2
// client, and connect --tls to an outside TLS 1.3 server. tls = {keylog}
// writes the NSS key log too.
func TestTLSPcap(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command(binary, "cert", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	uris := func(t *testing.T, file string) string {
		return tshark.Run(t, "-r", file, "-Y", "http", "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code")
	}
	clean := func(t *testing.T, file string) {
		if bad, all := tshark.Expert(tshark.Run(t, "-r", file, "-q", "-z", "expert")); len(bad) > 0 {
			t.Fatalf("%s: expert:\n%s", file, strings.Join(all, "\n"))
		}
	}

	t.Run("script", func(t *testing.T) {
		file, keylog := filepath.Join(dir, "s.pcapng"), filepath.Join(dir, "keys.log")
		script := filepath.Join(dir, "tls.lua")
		os.WriteFile(script, []byte(`
local cert, key, file, keylog = ...
socket.trace({pcap = file})
local srv = socket.serve("127.0.0.1", 0, function(c)
  c:recv_until("\r\n\r\n")
  c:send("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
  c:close()
end, {tls = {cert = cert, key = key}})
local c = assert(socket.connect("127.0.0.1", srv:port(), {tls = {ca = cert, keylog = keylog}}))
c:send("GET /from-the-script HTTP/1.0\r\n\r\n")
assert(c:recv_all():find("hello$"))
c:close()
srv:close()
`), 0o644)
		if out, err := exec.Command(binary, "run", script, certFile, keyFile, file, keylog).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		keys, _ := os.ReadFile(keylog)
		if !strings.Contains(string(keys), "CLIENT_TRAFFIC_SECRET_0 ") || !strings.Contains(string(keys), "SERVER_HANDSHAKE_TRAFFIC_SECRET ") {
			t.Fatalf("key log file:\n%s", keys)
		}
		if got := uris(t, file); got != "/from-the-script\t\n\t200\n" {
			t.Fatalf("tshark shows the HTTP of the file as %q", got)
		}
		clean(t, file)
	})

	t.Run("listen", func(t *testing.T) {
		file := filepath.Join(dir, "l.pcapng")
		lp, addr := startListen(t, nil, "0", "--tls", "--cert", certFile, "--key", keyFile, "--pcap", file)
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET /to-listen HTTP/1.0\r\n\r\n"))
		c.CloseWrite()
		io.Copy(io.Discard, c)
		c.Close()
		if code := lp.wait(t); code != 0 {
			t.Fatalf("listen exit %d: %s", code, lp.errs.String())
		}
		if got := uris(t, file); got != "/to-listen\t\n" {
			t.Fatalf("tshark shows the HTTP of the file as %q", got)
		}
		clean(t, file)
	})

	t.Run("connect", func(t *testing.T) {
		file := filepath.Join(dir, "c.pcapng")
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for line, err := r.ReadString('\n'); err == nil && line != "\r\n"; line, err = r.ReadString('\n') {
			}
			c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
			// Until the client's end of stream: closing before it would reset.
			io.Copy(io.Discard, r)
		}()
		cmd := exec.Command(binary, "connect", ln.Addr().String(), "--tls", "--ca", certFile, "--pcap", file)
		cmd.Stdin = strings.NewReader("GET /from-connect HTTP/1.0\r\n\r\n")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "200 OK") {
			t.Fatalf("%v\n%s", err, out)
		}
		if got := uris(t, file); got != "/from-connect\t\n\t200\n" {
			t.Fatalf("tshark shows the HTTP of the file as %q", got)
		}
		clean(t, file)
	})
}

// TestPcapCutShort: a capture file that a write error cuts short (here the
// file size limit, as a full disk would) is said on stderr and makes the
// command's status 1, for run and for connect; the run's work itself is
// done.
func TestPcapCutShort(t *testing.T) {
	testbin.SkipWindows(t, "sh's ulimit -f")
	dir := t.TempDir()
	file := filepath.Join(dir, "cut.pcapng")
	// ulimit -f counts 512-byte blocks: 8 is 4 KiB. Go ignores SIGXFSZ, so
	// a write past it fails with EFBIG instead of killing the process.
	out, err := exec.Command("sh", "-c", `ulimit -f 8 && exec "$0" run --pcap "$1" sticky_demo`, binary, file).CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "wirelab: capture "+file+" is cut short: ") ||
		!strings.Contains(string(out), "each answer whole") {
		t.Fatalf("run: exit %d\n%s", exitCode(err), out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(io.Discard, c)
		c.Write(make([]byte, 100<<10))
	}()
	cfile := filepath.Join(dir, "c.pcapng")
	cmd := exec.Command("sh", "-c", `ulimit -f 8 && exec "$0" connect "$1" --pcap "$2" >/dev/null`, binary, ln.Addr().String(), cfile)
	cmd.Stdin = strings.NewReader("hello")
	out, err = cmd.CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "wirelab: --pcap "+cfile+" is cut short: ") {
		t.Fatalf("connect: exit %d\n%s", exitCode(err), out)
	}
}
