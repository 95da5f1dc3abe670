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
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", 1, {udp = true, on_data = print}))
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", 1, {slise = 1}))
p:close()
srv:close()
`)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	want := "3,3,3,3\n12\n2\t24\t9\n" +
		"false\tbad argument #5 to 'proxy' (option on_data: the hooks are for streams, not with udp = true)\n" +
		"false\tbad argument #5 to 'proxy' (unknown option 'slise'; did you mean 'slice'?)\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if strings.TrimSpace(errs) != "" {
		t.Fatalf("stderr: %s", errs)
	}
}

// TestSocketProxyHooks: on_data sees whole frames however the bytes were
// split (a slicing proxy in front, one byte a write) and its answer is
// framed again; it changes a connection's faults through session:set;
// on_connect refuses a client; a hook that fails closes its connection
// and says so.
func TestSocketProxyHooks(t *testing.T) {
	out, errs, err := runWire(t, `
local srv = socket.serve("127.0.0.1", 0, function(c)
  while true do
    local m = c:recv_frame()
    if not m then break end
    c:send_frame("echo " .. m)
  end
  c:shutdown()
end)
local seen = {}
local framed = socket.proxy("127.0.0.1", 0, "127.0.0.1", srv:port(), {
  frames = "!I",
  on_data = function(dir, payload, session)
    seen[#seen + 1] = dir .. ":" .. payload
    if payload == "slow down" then session:set({delay = 0.05}) end
    if dir == "down" then return payload:upper() end
  end,
})
local slicer = socket.proxy("127.0.0.1", 0, "127.0.0.1", framed:port(), {slice = 1})
local c = socket.connect("127.0.0.1", slicer:port())
for _, m in ipairs({"one", "slow down", "three"}) do
  c:send_frame(m)
  print(c:recv_frame())
end
c:shutdown()
print(c:recv_all() == "")

local refusing = socket.proxy("127.0.0.1", 0, "127.0.0.1", srv:port(), {
  on_connect = function(session) return false end,
})
local r = socket.connect("127.0.0.1", refusing:port())
print(r:recv(10))

local failing = socket.proxy("127.0.0.1", 0, "127.0.0.1", srv:port(), {
  on_data = function(dir, data) error("the hook broke") end,
})
local f = socket.connect("127.0.0.1", failing:port())
f:send_frame("x")
print(f:recv(10))
print(pcall(socket.proxy, "127.0.0.1", 0, "127.0.0.1", 1, {frames = "!I"}))
for _, p in ipairs({framed, slicer, refusing, failing}) do p:close() end
srv:close()
`)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	want := "ECHO ONE\nECHO SLOW DOWN\nECHO THREE\ntrue\nnil\tclosed\nnil\tclosed\n" +
		"false\tbad argument #5 to 'proxy' (option frames needs on_data)\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s\nstderr %s", out, want, errs)
	}
	if !strings.Contains(errs, "proxy hook for 127.0.0.1:") || !strings.Contains(errs, "the hook broke") {
		t.Fatalf("stderr: %s", errs)
	}
}
