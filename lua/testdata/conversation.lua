-- The conversation API: lines, delimiters, send-after-prompt, recv_all,
-- unrecv and per-call timeouts, over real loopback TCP, against a peer task
-- that writes in the pieces it is told to (one byte at a time included).
local ln = assert(socket.listen("127.0.0.1", 0))
local cmds, sent = task.channel(10), task.channel(100)
local peer = task.spawn(function()
  local c = assert(ln:accept())
  while true do
    local cmd = cmds:recv()
    if cmd == "close" then c:close() break end
    if cmd == "shutdown" then c:shutdown() end
    if cmd == "echo" then
      -- a prompt, then echo one line back
      c:send("name? ")
      local l = c:recvline()
      c:send("hello " .. tostring(l) .. "\n")
    end
    if type(cmd) == "table" then
      for _, piece in ipairs(cmd) do
        assert(c:send(piece))
        task.sleep(0.002)
      end
      sent:send(true)
    end
  end
end)
local function bytes(s)
  local t = {}
  for i = 1, #s do t[i] = s:sub(i, i) end
  return t
end
local c = assert(socket.connect("127.0.0.1", ln:port(), {timeout = 5}))

-- recvline drops "\n" and a "\r" before it; keep=true keeps both
cmds:send(bytes("one\r\ntwo\nthree\r\n"))
assert(c:recvline() == "one")
assert(c:recvline() == "two")
assert(c:recvline({keep = true}) == "three\r\n")
sent:recv()
-- a "\r" inside the line stays
cmds:send({"a\rb\r\r\n"})
assert(c:recvline() == "a\rb\r")
sent:recv()

-- sendline
cmds:send("echo")
assert(c:recv_until("? ", {keep = true}) == "name? ")
assert(c:sendline("wire") == 5)
assert(c:recvline() == "hello wire")

-- sendlineafter / sendafter return what came up to and with the delimiter
cmds:send("echo")
assert(c:sendlineafter("? ", "lab") == "name? ")
assert(c:recvline() == "hello lab")
cmds:send("echo")
assert(c:sendafter("name? ", "raw\n") == "name? ")
assert(c:recvline() == "hello raw")

-- recv_until over a list: the first delimiter to end wins, the matched one
-- comes second; a delimiter split over segments is still found
cmds:send(bytes("x=1;y=2\r\nz"))
local v, d = c:recv_until({";", "\r\n"})
assert(v == "x=1" and d == ";", v)
v, d = c:recv_until({";", "\r\n"}, {keep = true})
assert(v == "y=2\r\n" and d == "\r\n", v)
-- the older positional max still works
assert(c:recv_exact(1) == "z")
sent:recv()
cmds:send({"abcdefghij\n"})
local none, e, part = c:recv_until("\n", 5)
assert(none == nil and e == "too long" and part:sub(1, 5) == "abcde", e)
assert(c:recvline({max = 10}) == "abcdefghij", "nothing is lost past the limit")
sent:recv()

-- a timeout mid-line: the partial comes back AND stays for the next read
cmds:send({"hal"})
sent:recv()
local l, te, tp = c:recvline({timeout = 0.05})
assert(l == nil and te == "timeout" and tp == "hal", te)
cmds:send({"f a line\n"})
assert(c:recvline() == "half a line")
sent:recv()
-- per-call timeouts for recv, recv_exact, recv_frame, recv_msg, recv_all
local t0 = task.now()
for _, call in ipairs({
  function() return c:recv(10, {timeout = 0.03}) end,
  function() return c:recv_exact(3, {timeout = 0.03}) end,
  function() return c:recv_frame({timeout = 0.03}) end,
  function() return c:recv_msg({timeout = 0.03}) end,
  function() return c:recv_all({timeout = 0.03}) end,
  function() return c:recv_until("x", {timeout = 0.03}) end,
}) do
  local r, err = call()
  assert(r == nil and err == "timeout", err)
end
local took = task.now() - t0
assert(took >= 0.15 and took < 3, took)
-- a per-call timeout longer than the connection's wins
c:settimeout(0.01)
task.spawn(function() task.sleep(0.1); cmds:send({"late\n"}) end)
assert(c:recvline({timeout = 5}) == "late")
sent:recv()
c:settimeout(5)

-- unrecv: bytes put back come first, for every kind of read
c:unrecv("put back\n")
assert(c:recvline() == "put back")
c:unrecv(struct.pack("!I", 5) .. "he")
cmds:send({"llo"})
assert(c:recv_frame() == "hello")
sent:recv()
c:unrecv("cd")
c:unrecv("ab")
assert(c:recv_exact(4) == "abcd")

-- a frame timed out halfway is read whole later
cmds:send({struct.pack("!I", 6) .. "par"})
sent:recv()
local f, fe, fp = c:recv_frame({timeout = 0.05})
assert(f == nil and fe == "timeout" and fp == "par", fe)
cmds:send({"tly"})
assert(c:recv_frame() == "partly")
sent:recv()

-- recv_all: everything until the end of the stream; over max, a loud error
-- and nothing lost
cmds:send({string.rep("z", 3000), "end"})
sent:recv()
cmds:send("shutdown")
local big, be, bp = c:recv_all({max = 1000})
assert(big == nil and be == "too long" and #bp > 1000, be)
local all = c:recv_all()
assert(all == string.rep("z", 3000) .. "end", #all)
assert(c:recv_all() == "", "at the end, nothing more")
local r, re = c:recv(1)
assert(r == nil and re == "closed")

-- one task reads lines while another writes, on the same connections
do
  local l2 = assert(socket.listen("127.0.0.1", 0))
  local echo = task.spawn(function()
    local s = assert(l2:accept())
    while true do
      local line = s:recvline({keep = true})
      if not line then return end
      s:send(line)
    end
  end)
  local cc = assert(socket.connect("127.0.0.1", l2:port()))
  local n = 300
  local reader = task.spawn(function()
    for i = 1, n do
      local line = cc:recvline()
      if line ~= "line " .. i then return false, line end
    end
    return true
  end)
  for i = 1, n do
    local parts = {"li", "ne ", tostring(i), i % 2 == 0 and "\r\n" or "\n"}
    if i % 3 == 0 then cc:send(table.concat(parts)) else cc:send(parts) end
  end
  local ok, good, bad = reader:wait(10)
  assert(ok and good, tostring(bad))
  cc:close()
  assert(echo:wait(5))
  l2:close()
end

-- bad arguments name the function and the mistake
local ok, msg = pcall(c.recv_until, c, "x", {timout = 1})
assert(not ok and msg:find("bad argument #3 to 'recv_until' (unknown option 'timout'; did you mean 'timeout'?)", 1, true), msg)
ok, msg = pcall(function() return c:recv_until("") end)
assert(not ok and msg:find("empty delimiter", 1, true), msg)
ok, msg = pcall(function() return c:recv_until({}) end)
assert(not ok and msg:find("empty list", 1, true), msg)
ok, msg = pcall(function() return c:recvline({max = -1}) end)
assert(not ok, msg)
cmds:send("close")
peer:wait()
c:close()
print("ok")
