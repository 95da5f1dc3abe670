-- socket: connections, exact reads, frames and messages over real loopback TCP.
local ln = assert(socket.listen("127.0.0.1", 0))
local port = ln:port()
assert(port > 0)

-- a port that is taken: listen, serve and udp raise, naming the address,
-- so no script goes on without its server; {raise = false} gives nil, err
local function raises(want, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "no error for " .. want)
  assert(msg:find(want, 1, true), msg)
  assert(msg:find("address in use", 1, true), msg)
end
local where = "127.0.0.1:" .. port
raises("listen " .. where .. ": address in use", socket.listen, "127.0.0.1", port)
raises("listen " .. where .. ": address in use", socket.serve, "127.0.0.1", port, function() end)
local none0, why0 = socket.listen("127.0.0.1", port, {raise = false})
assert(none0 == nil and why0 == "address in use", why0)
none0, why0 = socket.serve("127.0.0.1", port, function() end, {raise = false})
assert(none0 == nil and why0 == "address in use", why0)
-- (arg[2] is "noudp" where UDP sockets fail: under Wine, testbin.WineUDP)
if arg[2] ~= "noudp" then
  local u0 = assert(socket.udp("127.0.0.1", 0))
  raises("udp 127.0.0.1:" .. u0:port() .. ": address in use", socket.udp, "127.0.0.1", u0:port())
  none0, why0 = socket.udp("127.0.0.1", u0:port(), {raise = false})
  assert(none0 == nil and why0 == "address in use", why0)
  u0:close()
  assert(socket.udp({raise = false})):close() -- an unbound client socket takes options too
end
-- an address no interface has, and a host that does not resolve
local ok0, msg0 = pcall(socket.listen, "192.0.2.1", 0) -- TEST-NET-1: never local
assert(not ok0 and msg0:find("listen 192.0.2.1:0: address not available", 1, true), msg0)

-- nothing listens on a closed port
local closed = assert(socket.listen("127.0.0.1", 0))
local dead = closed:port()
closed:close()
local c0, err0 = socket.connect("127.0.0.1", dead)
assert(c0 == nil and err0 == "refused", err0)

-- a peer task that writes whatever the main chunk tells it, in the pieces given
local cmds, sent = task.channel(10), task.channel(100)
local peer = task.spawn(function()
  local c = assert(ln:accept())
  while true do
    local cmd = cmds:recv()
    if cmd == "close" then c:close() break end
    if cmd == "shutdown" then assert(c:shutdown() == true) end
    if type(cmd) == "table" then
      for _, piece in ipairs(cmd) do
        assert(c:send(piece))
        task.sleep(0.005)
      end
      sent:send(true) -- every piece is in the socket now
    end
  end
  return "done"
end)

local c = assert(socket.connect("127.0.0.1", port, {timeout = 5}))
assert(tostring(c):find("^<conn 127.0.0.1:%d+ %-> 127.0.0.1:" .. port .. " open>$"), tostring(c))
local host, pport = c:peer()
assert(host == "127.0.0.1" and pport == port)

-- recv gives whatever arrived: boundaries are not kept
cmds:send({"ab", "cd"})
sent:recv()
local got = c:recv(1024)
assert(got == "abcd", "two sends, one recv: " .. tostring(got))

-- recv_exact across fragments, one byte at a time
cmds:send({"h", "e", "l", "l", "o", "!"})
assert(c:recv_exact(5) == "hello")
assert(c:recv(1) == "!")

-- recv_until keeps what follows the delimiter
cmds:send({"line one\r", "\nline two\r\nrest"})
assert(c:recv_until("\r\n") == "line one")
assert(c:recv_until("\r\n") == "line two")
assert(c:recv_exact(4) == "rest")
-- over the limit: the bytes come back with "too long", and stay buffered
cmds:send({string.rep("x", 40)})
local none, e, partial = c:recv_until("\n", 10)
assert(none == nil and e == "too long" and #partial >= 10, e)
assert(c:recv_exact(40) == string.rep("x", 40))

-- frames under every header, sent in awkward pieces
for _, fmt in ipairs({"!I", "i", "<H", ">Q"}) do
  local frame = struct.pack(fmt, 11) .. "hello, wire"
  cmds:send({frame:sub(1, 1), frame:sub(2, 3), frame:sub(4, 9), frame:sub(10)})
  assert(c:recv_frame({header = fmt}) == "hello, wire", fmt)
end
cmds:send({struct.pack("!I", 0)})
assert(c:recv_frame() == "", "empty frame")

-- a negative length (the documents' "i" is signed) and an oversized one are
-- refused before reading on; the stream stays where it was
cmds:send({struct.pack("i", -1) .. "next"})
local f1, fe1 = c:recv_frame({header = "i"})
assert(f1 == nil and fe1 == "bad length", fe1)
assert(c:recv_exact(4) == "next")
cmds:send({struct.pack("!I", 2^31) .. "next"})
local f2, fe2 = c:recv_frame()
assert(f2 == nil and fe2:find("^frame too large"), fe2) -- 80 00 00 00: 128 little-endian, so a hint follows
assert(c:recv_exact(4) == "next")
cmds:send({struct.pack("!I", 101) .. "next"})
local f3, fe3 = c:recv_frame({max = 100})
assert(f3 == nil and fe3 == "frame too large", fe3)
assert(c:recv_exact(4) == "next")
-- the documents' struct.pack('i', 5) + b'hello' to the default "!I": the
-- refusal says which byte order would have fitted
cmds:send({struct.pack("i", 5) .. "hello"})
local f4, fe4 = c:recv_frame()
assert(f4 == nil and fe4 == 'frame too large (length 83886080 as big-endian "!I"; read as little-endian it is 5: does the peer use "<I" or "i"?)', fe4)
assert(c:recv_exact(5) == "hello")

-- the documents' message: struct.pack('i', len(h)) + JSON header + body
local h = '{"filename": "a.txt", "total_size": 5}'
cmds:send({struct.pack("i", #h), h, "hel", "lo"})
local hdr, body = c:recv_msg()
assert(hdr.filename == "a.txt" and hdr.total_size == 5 and body == "hello")
-- header only: the body is the caller's to read
cmds:send({struct.pack("i", #h) .. h .. "hello"})
local hdr2, body2 = c:recv_msg({body = false})
assert(hdr2.total_size == 5 and body2 == nil)
assert(c:recv_exact(5) == "hello")
-- bad headers
for _, bad in ipairs({'[1,2]', '{"x":1}', '{"total_size":-1}', '{"total_size":2.5}', '{"total_size":1e300}', 'nope'}) do
  cmds:send({struct.pack("i", #bad) .. bad})
  local hb, he = c:recv_msg()
  assert(hb == nil and he:find("bad header"), bad .. ": " .. tostring(he))
end
cmds:send({struct.pack("i", 70000)})
local hb, he = c:recv_msg()
assert(hb == nil and he == "header too large", he)

-- timeouts leave the connection usable
c:settimeout(0.05)
local t0, te = c:recv(10)
assert(t0 == nil and te == "timeout", te)
c:settimeout(nil)
cmds:send({"after"})
assert(c:recv_exact(5) == "after")

-- a peer that closes mid-frame: nil, "closed", and the partial bytes
cmds:send({struct.pack("!I", 10) .. "01234"})
cmds:send("close")
local p1, pe, pp = c:recv_frame()
assert(p1 == nil and pe == "closed" and pp == "01234", tostring(pe) .. " " .. tostring(pp))
-- the bytes of the unfinished frame, header included, are still there
assert(c:recv_all() == struct.pack("!I", 10) .. "01234")
local r1, re = c:recv(10)
assert(r1 == nil and re == "closed")
assert(peer:wait())
c:close()
assert(c:closed())
local s1, se = c:send("x")
assert(s1 == nil and se == "closed", se)

-- misuse raises
assert(not pcall(c.recv, c, 0))
assert(not pcall(c.recv_exact, c, -1))
assert(not pcall(c.send_frame, c, "x", {header = "2i"}))
assert(not pcall(socket.connect, "127.0.0.1", 70000))
assert(not pcall(c.send, "not a conn", "x"))
ln:close()
local a, ae = ln:accept()
assert(a == nil and ae == "closed", ae)
-- is_loopback parses the address: a name that starts like one is a name
for _, h in ipairs({"127.0.0.1", "127.1.2.3", "::1", "localhost", "unix:/tmp/x.sock"}) do
  assert(socket.is_loopback(h), h)
end
for _, h in ipairs({"127.example.com", "0.0.0.0", "::", "10.1.1.1", "127."}) do
  assert(not socket.is_loopback(h), h)
end
print("ok")
