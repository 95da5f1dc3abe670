package lua

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestSocketProxyUDP: socket.proxy{udp = true} relays datagrams to a Go
// target and its answers back to the client that sent each; dup = 1
// sends each twice, p:set({}) takes it off, p:stats counts client
// sessions and bytes; the stream's faults with udp, the datagrams'
// without, and bad probabilities raise, naming the option.
func TestSocketProxyUDP(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(append([]byte("re:"), buf[:n]...), from)
		}
	}()
	out, errs, err := runWire(t, `
local target = tonumber((...))
local p = socket.proxy("127.0.0.1", 0, "127.0.0.1", target, {udp = true, dup = 1, direction = "up"})
print(tostring(p):match("^<proxy udp 127%.0%.0%.1:%d+>$") ~= nil)
local a, b = socket.udp(), socket.udp()
a:settimeout(10)
b:settimeout(10)
a:sendto("one", "127.0.0.1", p:port())
print((a:recvfrom(100)), (a:recvfrom(100)))
p:set({})
b:sendto("two", "127.0.0.1", p:port())
print((b:recvfrom(100)))
local s = p:stats()
print(s.connections, s.up, s.down)
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", target, {udp = true, slice = 3}))
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", target, {loss = 0.5}))
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", target, {udp = true, loss = 1.5}))
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", target, {udp = true, dup = "often"}))
print(pcall(socket.proxy, "127.0.0.1", 0, "unix:/tmp/x", {udp = true}))
print(pcall(p.set, p, {limit = 10}))
print(pcall(p.set, p, {loss = -1}))
p:close()
`, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	want := "true\nre:one\tre:one\nre:two\n2\t9\t18\n" +
		"false\tbad argument #5 to 'proxy' (option slice: TCP only, not with udp = true (datagrams take loss, dup, delay, jitter, rate))\n" +
		"false\tbad argument #5 to 'proxy' (option loss: a datagram fault, for udp = true only)\n" +
		"false\tbad argument #5 to 'proxy' (option loss: a probability from 0 to 1 expected, got 1.5)\n" +
		"false\tbad argument #5 to 'proxy' (option dup: a probability from 0 to 1 expected, got \"often\")\n" +
		"false\tbad argument #3 to 'proxy' (udp = true: the target is a host and a port (datagrams go to UDP ports, not unix: sockets))\n" +
		"false\tbad argument #2 to 'set' (option limit: TCP only, not with udp = true (datagrams take loss, dup, delay, jitter, rate))\n" +
		"false\tbad argument #2 to 'set' (option loss: a probability from 0 to 1 expected, got -1)\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if strings.TrimSpace(errs) != "" {
		t.Fatalf("stderr: %s", errs)
	}
}
