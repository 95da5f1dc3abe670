package lua

import (
	"strings"
	"testing"
)

// TestSocketProxy: socket.proxy slices what it forwards, p:set takes the
// faults off for the next connection (and the bytes to come), p:stats
// counts, and an option this version lacks is named.
func TestSocketProxy(t *testing.T) {
	out, errs, err := runWire(t, `
local srv = socket.serve("127.0.0.1", 0, function(c)
  local reads = {}
  while true do
    local d = c:recv(1000)
    if not d then break end
    reads[#reads + 1] = #d
  end
  c:send(table.concat(reads, ","))
  c:shutdown()
end)
local p = socket.proxy("127.0.0.1", 0, "127.0.0.1", srv:port(), {slice = 3, slice_delay = 0.2})
local c = socket.connect("127.0.0.1", p:port())
c:send("hello world!")
c:shutdown()
print(c:recv_all())
p:set({})
local c2 = socket.connect("127.0.0.1", p:port())
c2:send("hello world!")
c2:shutdown()
print(c2:recv_all())
local s = p:stats()
print(s.connections, s.up, s.down)
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", 1, {frames = "!I"}))
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", 1, {slise = 1}))
p:close()
srv:close()
`)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	want := "3,3,3,3\n12\n2\t24\t9\n" +
		"false\tbad argument #5 to 'proxy' (option frames: not in this version of socket.proxy (faults, trace and pcap are))\n" +
		"false\tbad argument #5 to 'proxy' (unknown option 'slise'; did you mean 'slice'?)\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if strings.TrimSpace(errs) != "" {
		t.Fatalf("stderr: %s", errs)
	}
}
