package main

import (
	"bytes"
	"fmt"
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
	dir := t.TempDir()
	script, file := filepath.Join(dir, "x.lua"), filepath.Join(dir, "x.pcapng")
	os.WriteFile(script, []byte(exchangeScript), 0o644)
	if out, err := exec.Command(binary, "run", "--pcap", file, script).CombinedOutput(); err != nil {
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
