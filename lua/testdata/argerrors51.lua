-- Argument errors number the arguments as Lua 5.1 does: a method call's
-- self is not counted (c:recv() is "bad argument #1 to 'recv'"), and a bad
-- self is "calling 'f' on bad self". The string cases are lua5.1's own
-- messages; the conn and listener ones follow the same rule.
local function msg(f, ...)
  local ok, m = pcall(f, ...)
  assert(not ok, "no error")
  return (m:gsub("^[^:]+:%d+: ", ""))
end
local function is(got, want) assert(got == want, "got: " .. tostring(got) .. "\nwant: " .. want) end

is(msg(function() local s = "x"; return s:rep() end), "bad argument #1 to 'rep' (number expected, got no value)")
is(msg(function() return ("x"):sub({}) end), "bad argument #1 to 'sub' (number expected, got table)")
is(msg(function() local t = {f = string.rep}; return t:f() end), "calling 'f' on bad self (string expected, got table)")
-- called as a function, every argument counts
is(msg(function() return string.rep("x") end), "bad argument #2 to 'rep' (number expected, got no value)")
is(msg(function() local s = "x"; return s.rep(s) end), "bad argument #2 to 'rep' (number expected, got no value)")

local ln = assert(socket.listen("127.0.0.1", 0))
local c = assert(socket.connect("127.0.0.1", ln:port()))
is(msg(function() return c:recv() end), "bad argument #1 to 'recv' (number expected, got nil)")
is(msg(function() return c:recv_exact("x") end), "bad argument #1 to 'recv_exact' (number expected, got string)")
is(msg(function() return c.recv(c) end), "bad argument #2 to 'recv' (number expected, got nil)")
is(msg(function() return ln.accept(5) end), "bad argument #1 to 'accept' (listener expected, got number)")
c:close()
ln:close()

-- a file's methods, as lua5.1 numbers them
local path = os.tmpname()
local f = assert(io.open(path, "w"))
is(msg(function() return f:write({}) end), "bad argument #1 to 'write' (string expected, got table)")
is(msg(function() return f.write(f, {}) end), "bad argument #2 to 'write' (string expected, got table)")
is(msg(function() return f:seek("bad") end), "bad argument #1 to 'seek' (invalid option 'bad')")
f:close()
os.remove(path)
print("ok")
