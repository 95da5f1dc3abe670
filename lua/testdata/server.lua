-- socket.serve: a handler per connection, each in its own task.
-- A framed echo server in a few lines:
local srv = assert(socket.serve("127.0.0.1", 0, function(c)
  while true do
    local msg = c:recv_frame()
    if not msg then return end
    if msg == "raise" then error("handler raised on purpose") end
    c:send_frame(msg:upper())
  end
end))
local port = srv:port()
assert(tostring(srv):find("^<server 127.0.0.1:" .. port .. " listening"), tostring(srv))

-- 100 concurrent clients, each with its own exchange
local clients = {}
for i = 1, 100 do
  clients[i] = task.spawn(function()
    local c = assert(socket.connect("127.0.0.1", port))
    for j = 1, 10 do
      local m = "client " .. i .. " msg " .. j
      assert(c:send_frame(m))
      assert(c:recv_frame() == m:upper())
    end
    c:close()
    return i
  end)
end
local sum = 0
for _, t in ipairs(clients) do
  local ok, v = t:wait()
  assert(ok, v)
  sum = sum + v
end
assert(sum == 5050)

-- a raising handler is reported and the server keeps serving
local c1 = assert(socket.connect("127.0.0.1", port))
c1:send_frame("raise")
local r, e = c1:recv_frame()
assert(r == nil and e == "closed", "the connection closes when the handler raises")
-- a client that vanishes mid-frame does not take the server down
local c2 = assert(socket.connect("127.0.0.1", port))
c2:send(struct.pack("!I", 100) .. "half")
c2:close()
local c3 = assert(socket.connect("127.0.0.1", port))
c3:send_frame("still here")
assert(c3:recv_frame() == "STILL HERE")

-- close interrupts handlers blocked in recv and ends the server
srv:close()
assert(srv:wait())
local after, ae = c3:recv_frame()
assert(after == nil and ae == "closed")
local c4, ce = socket.connect("127.0.0.1", port)
assert(c4 == nil and ce == "refused", ce)

-- idle_timeout closes a silent client; max_conns holds the next one back
local idle = assert(socket.serve("127.0.0.1", 0, function(c)
  local m, err = c:recv(10)
  if not m then return end
  c:send("got " .. m)
  task.sleep(0.3)
end, {idle_timeout = 0.1, max_conns = 1}))
local quiet = assert(socket.connect("127.0.0.1", idle:port()))
local q, qe = quiet:recv(10)
assert(q == nil and qe == "closed", "the idle client is closed: " .. tostring(qe))
local first = assert(socket.connect("127.0.0.1", idle:port()))
first:send("a")
assert(first:recv(10) == "got a")
local second = assert(socket.connect("127.0.0.1", idle:port()))
second:send("b")
second:settimeout(0.1)
local s1, se = second:recv(10)
assert(s1 == nil and se == "timeout", "served only after the first handler ends")
second:settimeout(2)
assert(second:recv(10) == "got b")
idle:close()
assert(idle:wait())

-- upvalues are copied into every handler; task.shared is shared
local hits = 0
local counted = assert(socket.serve("127.0.0.1", 0, function(c)
  hits = hits + 1
  task.shared("server-test"):incr("conns")
  c:send(tostring(hits))
end))
for _ = 1, 3 do
  local c = assert(socket.connect("127.0.0.1", counted:port()))
  assert(c:recv(10) == "1", "each handler has its own copy")
  c:close()
end
assert(task.shared("server-test"):get("conns") == 3)
counted:close()
-- a handler's calls nest 1,000 deep unless max_depth says otherwise
local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
local function deep(opts)
  local srv = assert(socket.serve("127.0.0.1", 0, function(c)
    local n = tonumber(c:recv_until("\n"))
    local ok, err = pcall(depth, n)
    c:send(ok and "fine\n" or (tostring(err):match("stack overflow") and "overflow\n" or tostring(err) .. "\n"))
  end, opts))
  local function ask(n)
    local c = assert(socket.connect("127.0.0.1", srv:port()))
    c:send(n .. "\n")
    local answer = c:recv_until("\n")
    c:close()
    return answer
  end
  return srv, ask
end
local srv, ask = deep()
assert(ask(900) == "fine")
assert(ask(1100) == "overflow")
srv:close()
srv, ask = deep({max_depth = 6000})
assert(ask(5000) == "fine")
srv:close()
assert(not pcall(socket.serve, "127.0.0.1", 0, function() end, {max_depth = 50000}))
print("ok")
