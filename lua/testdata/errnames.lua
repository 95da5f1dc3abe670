-- Runtime errors name the variable as Lua 5.1 does, wherever they are
-- caught: pcall, xpcall's handler, a task's wait, a server's handler.
local function msg(f, ...)
  local ok, m = pcall(f, ...)
  assert(not ok, "no error")
  return (m:gsub("^[^:]+:%d+: ", ""))
end
local function is(got, want) assert(got == want, "got: " .. tostring(got) .. "\nwant: " .. want) end

is(msg(function() local x; x.y = 1 end), "attempt to index local 'x' (a nil value)")
is(msg(function() return sokcet.connect("127.0.0.1", 1) end), "attempt to index global 'sokcet' (a nil value) (did you mean socket?)")
is(msg(function() local t = {a = {}} return t.a.b.c end), "attempt to index field 'b' (a nil value)")
is(msg(function() local t = {} return t:recvx() end), "attempt to call method 'recvx' (a nil value)")
is(msg(function() return pritn("x") end), "attempt to call global 'pritn' (a nil value) (did you mean print?)")
-- a short name is not guessed at
is(msg(function() return f() end), "attempt to call global 'f' (a nil value)")
-- a metamethod's chain ending in a non-table names nothing
is(msg(function() local t = setmetatable({}, {__index = 5}) return t.x end), "attempt to index a number value")

-- xpcall's handler sees the named message
local ok, hm = xpcall(function() local n = 5; return n.x end, function(m) return "handled: " .. m end)
assert(not ok and hm:find("^handled: .*attempt to index local 'n' %(a number value%)$"), hm)

-- a closure keeps counting after a named error (upvalues close only for
-- the frames the error unwinds)
local count = 0
local function bump() count = count + 1 end
for _ = 1, 3 do
  bump()
  pcall(function() local z; return z.q end)
end
is(count, 3)

-- a task's failure
local t = task.spawn(function() local conn; return conn:recv(1) end)
local tok, terr = t:wait()
assert(not tok and terr:find("attempt to index local 'conn' (a nil value)", 1, true), terr)

-- a server's handler: its failure is reported (on stderr) in these words
local srv = assert(socket.serve("127.0.0.1", 0, function(c)
  local reply
  c:send(reply.text)
end))
local c = assert(socket.connect("127.0.0.1", srv:port()))
assert(c:recv(1) == nil) -- the handler failed and its connection closed
c:close()
srv:close()

-- Argument errors number the arguments as Lua 5.1 does: a method call's
-- self is not counted (c:recv() is "bad argument #1 to 'recv'"), and a bad
-- self is "calling 'f' on bad self". The string and file cases are
-- lua5.1's own messages; the conn and listener ones follow the same rule.
is(msg(function() local s = "x"; return s:rep() end), "bad argument #1 to 'rep' (number expected, got no value)")
is(msg(function() return ("x"):sub({}) end), "bad argument #1 to 'sub' (number expected, got table)")
is(msg(function() local t = {f = string.rep}; return t:f() end), "calling 'f' on bad self (string expected, got table)")
-- called as a function, every argument counts
is(msg(function() return string.rep("x") end), "bad argument #2 to 'rep' (number expected, got no value)")
is(msg(function() local s = "x"; return s.rep(s) end), "bad argument #2 to 'rep' (number expected, got no value)")

local aln = assert(socket.listen("127.0.0.1", 0))
local ac = assert(socket.connect("127.0.0.1", aln:port()))
is(msg(function() return ac:recv() end), "bad argument #1 to 'recv' (number expected, got nil)")
is(msg(function() return ac:recv_exact("x") end), "bad argument #1 to 'recv_exact' (number expected, got string)")
is(msg(function() return ac.recv(ac) end), "bad argument #2 to 'recv' (number expected, got nil)")
is(msg(function() return aln.accept(5) end), "bad argument #1 to 'accept' (listener expected, got number)")
ac:close()
aln:close()

-- a file's methods, as lua5.1 numbers them
local path = os.tmpname()
local f = assert(io.open(path, "w"))
is(msg(function() return f:write({}) end), "bad argument #1 to 'write' (string expected, got table)")
is(msg(function() return f.write(f, {}) end), "bad argument #2 to 'write' (string expected, got table)")
is(msg(function() return f:seek("bad") end), "bad argument #1 to 'seek' (invalid option 'bad')")
f:close()
os.remove(path)
print("ok")
