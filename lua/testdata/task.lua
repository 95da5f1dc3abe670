-- task: states of their own, copies in, Go objects by reference.
GREETING = "hi"
local function shout(s) return s:upper() .. "!" end
local config = {name = "wire", nested = {deep = {1, 2, 3}}}
config.nested.back = config -- a cycle

local t = task.spawn(function(a, b)
  -- globals defined before the spawn, upvalues and arguments are all here
  assert(GREETING == "hi")
  assert(config.nested.back == config, "cycles survive the copy")
  config.name = "changed in the task"
  return shout(a), b.x + 1, #config.nested.deep
end, "abc", {x = 41})
local ok, r1, r2, r3 = t:wait()
assert(ok and r1 == "ABC!" and r2 == 42 and r3 == 3, tostring(r1))
assert(config.name == "wire", "the task changed its own copy")

-- shared upvalues stay shared inside the copy
local n = 0
local function inc() n = n + 1 end
local function get() return n end
local ok2, v = task.spawn(function() inc() inc() return get() end):wait()
assert(ok2 and v == 2 and n == 0)

-- metatables and methods travel too
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:sum() return self.x + self.y end
local ok3, s = task.spawn(function(p) return p:sum(), getmetatable(p) == Point end, Point.new(2, 3)):wait()
assert(ok3 and s == 5)

-- library functions arrive as the task's own
local ok4, joined = task.spawn(function(f) return f("%d-%d", 1, 2) end, string.format):wait()
assert(ok4 and joined == "1-2")

-- errors come back from wait with a traceback; pcall works around blocking calls
local okf, ferr = task.spawn(function() error("boom") end):wait()
assert(not okf and ferr:find("boom") and ferr:find("stack traceback"), ferr)
local okp, perr = pcall(function()
  local c, e = socket.connect("127.0.0.1", 1)
  task.sleep(0.001)
  error("after a blocking call: " .. tostring(e))
end)
assert(not okp and perr:find("after a blocking call"))
-- yield-free iteration around blocking calls
for i, w in ipairs({0.001, 0.001}) do assert(task.sleep(w)) end

-- wait with a timeout, cancel interrupts a sleeping task promptly
local sleeper = task.spawn(function() task.sleep(30) return "woke" end)
local okw, we = sleeper:wait(0.05)
assert(okw == false and we == "timeout")
local started = os.clock()
local t0 = os.time()
sleeper:cancel()
local okc, ce = sleeper:wait(2)
assert(okc == false and ce == "interrupted", tostring(ce))
assert(sleeper:done())

-- a loop that never blocks is interrupted too
local spinner = task.spawn(function() while true do end end)
task.sleep(0.02)
spinner:cancel()
local oks, se = spinner:wait(2)
assert(oks == false and se == "interrupted", tostring(se))

-- channels carry copies; closing drains then reports "closed"
local ch = task.channel(4)
local producer = task.spawn(function()
  for i = 1, 3 do ch:send({i = i, s = "v" .. i}) end
  ch:close()
end)
local seen = {}
while true do
  local msg, e = ch:recv(2)
  if not msg then assert(e == "closed", e) break end
  seen[#seen + 1] = msg.s
end
assert(table.concat(seen, ",") == "v1,v2,v3")
assert(producer:wait())
local nope, ne = task.channel():recv(0.01)
assert(nope == nil and ne == "timeout")
local ch2 = task.channel()
ch2:close()
local sc, sce = ch2:send(1)
assert(sc == nil and sce == "closed")

-- a shared dictionary, incremented atomically by many tasks
local d = task.shared("counters")
local workers = {}
for i = 1, 20 do
  workers[i] = task.spawn(function()
    local dd = task.shared("counters")
    for _ = 1, 100 do dd:incr("hits") end
  end)
end
for _, w in ipairs(workers) do assert(w:wait()) end
assert(d:get("hits") == 2000, d:get("hits"))
assert(d:add("once", {1, 2}) and not d:add("once", 3))
assert(d:get("once")[2] == 2)
d:set("s", "str")
local ni, nerr = d:incr("s")
assert(ni == nil and nerr:find("not a number"))
assert(table.concat(d:keys(), ",") == "hits,once,s")
assert(d:delete("s") == "str" and d:get("s") == nil)

-- what cannot move raises at spawn
assert(not pcall(task.spawn, function() end, coroutine.create(function() end)))
local fh = assert(io.open(arg[1] .. "/x", "w"))
local okh, he = pcall(task.spawn, function() return fh end)
assert(not okh and he:find("cannot pass"), he)
fh:close()
-- library values are the receiving state's own
local okio, same = task.spawn(function(out) return out == io.stdout end, io.stdout):wait()
assert(okio and same)
-- a send can give up: at once (0) or after a timeout, when there is no room
local full = task.channel(1)
assert(full:send("a", 0))
local sent, why = full:send("b", 0)
assert(sent == nil and why == "timeout", tostring(why))
local t0 = os.time()
sent, why = full:send("b", 0.05)
assert(sent == nil and why == "timeout")
assert(full:recv() == "a" and full:send("c", 0) and full:recv() == "c")
-- a hostile size is an error, not a crash
local okc, errc = pcall(task.channel, 1e12)
assert(not okc and errc:find("size too large", 1, true), errc)
assert(not pcall(task.channel, -1))
print("ok")
