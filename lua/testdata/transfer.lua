-- What a task gets from the script that starts it.

-- a global that cannot be copied does not stop other tasks
co = coroutine.create(function() end)
local ok, v = task.spawn(function() return 40 + 2 end):wait()
assert(ok and v == 42, tostring(v))
-- naming it in the task says which global and why
local ok2, err = task.spawn(function() return coroutine.status(co) end):wait()
assert(not ok2 and err:find("global 'co' is not available in this task: cannot pass a thread to another task", 1, true), err)
assert(socket.serve("127.0.0.1", 0, function(c) end)):close()

-- additions to the libraries travel
function string.trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
table.sum = function(t) local n = 0 for _, x in ipairs(t) do n = n + x end return n end
package.path = "./?.lua;/nonexistent/?.lua"
local ok3, a, b, c = task.spawn(function()
  return ("  pad  "):trim(), table.sum({1, 2, 3}), package.path
end):wait()
assert(ok3 and a == "pad" and b == 6 and c == "./?.lua;/nonexistent/?.lua", tostring(a))

-- a class's objects keep their metatable's identity across tasks
Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:sum() return self.x + self.y end
local ch = task.channel(4)
local t = task.spawn(function()
  local p, q = ch:recv(5), ch:recv(5)
  return getmetatable(p) == Point, getmetatable(q) == Point, p:sum() + q:sum()
end)
ch:send(Point.new(1, 2)); ch:send(Point.new(3, 4))
local ok4, same1, same2, sum = t:wait()
assert(ok4 and same1 and same2 and sum == 10)
-- a task that does not name the class still gets one metatable for all
t = task.spawn(function()
  local p, q = ch:recv(5), ch:recv(5)
  return getmetatable(p) == getmetatable(q), p:sum()
end)
ch:send(Point.new(5, 6)); ch:send(Point.new(7, 8))
local ok5, same, s5 = t:wait()
assert(ok5 and same and s5 == 11)
-- and the metatables that came back are the script's own
ch:send(Point.new(1, 1))
local back = ch:recv()
assert(getmetatable(back) == Point)

-- globals reached by computed name are all there
local NAME = "GREETING"
GREETING = "hi"
local ok6, g = task.spawn(function() return _G[NAME] end):wait()
assert(ok6 and g == "hi")
-- globals defined after the spawn are not
local late = task.spawn(function(ch2) ch2:recv(5) return rawget(_G, "LATE") end, ch)
LATE = 1
ch:send(true)
local ok7, l = late:wait()
assert(ok7 and l == nil)

-- a global function's own globals come along
HELPER_CONST = 7
function helper() return HELPER_CONST * 6 end
local ok8, h = task.spawn(function() return helper() end):wait()
assert(ok8 and h == 42)

-- a long linked list copies (transfer_test.go copies a million nodes)
local list = nil
for i = 1, 100000 do list = {next = list, v = i} end
local ok9, n = task.spawn(function(l)
  local n = 0
  while l do n = n + 1; l = l.next end
  return n
end, list):wait()
assert(ok9 and n == 100000, tostring(n))
list = nil
-- a library function put under another name is that function in the task
local savedPairs = pairs
pairs = ipairs
local okp, count = task.spawn(function()
  local n = 0
  for _ in pairs({1, 2, x = 3}) do n = n + 1 end
  return n
end):wait()
pairs = savedPairs
assert(okp and count == 2, tostring(count))
WRITE = io.write
local okw, same = task.spawn(function() return WRITE == io.write and pairs ~= ipairs end):wait()
assert(okw and same)
-- A hasher passes as a copy of its state (its class says so: hash.go): each
-- side goes on alone, by task argument, upvalue and channel alike. Within
-- one transfer it stays one object, as a table does.
local h = hash.new("sha256"):update("ab")
local okh, inner, same = task.spawn(function(h2)
  h2:update("c")
  h:update("d")
  return h2:hexdigest(), h == h2
end, h):wait()
assert(okh and inner == hash.sha256("abcd") and same, inner)
local hch = task.channel(2)
hch:send(h)
hch:send(h)
local c1, c2 = hch:recv(), hch:recv()
c1:update("x")
assert(c2:hexdigest() == hash.sha256("ab") and c1:hexdigest() == hash.sha256("abx"))
assert(h:hexdigest() == hash.sha256("ab"), "the sender's hasher is untouched")
-- BLAKE3's hasher has no binary form: it copies by its own Clone.
local hb = hash.new("blake3"):update("ab")
local okb, innerb = task.spawn(function(h2) return h2:update("c"):hexdigest() end, hb):wait()
assert(okb and innerb == hash.blake3("abc") and hb:hexdigest() == hash.blake3("ab"), innerb)
-- Connections pass by reference: the task closes the parent's.
local lnr = socket.listen("127.0.0.1", 0)
local cr = socket.connect("127.0.0.1", lnr:port())
assert(task.spawn(function() cr:close() end):wait())
assert(cr:closed())
lnr:close()
-- A file of io is another library's userdata: refused.
local f = assert(io.open(arg[1] .. "/refused", "w"))
local okc, errc = pcall(function() hch:send(f) end)
assert(not okc and errc:find("cannot pass a userdata of another library to another task", 1, true), errc)
f:close()
print("ok")
