-- pcall, xpcall, error and assert as Lua 5.1 has them. Every expected
-- value below is what lua5.1 prints for the same code.
local function at(line, msg) return arg[0] .. ":" .. line .. ": " .. msg end

-- gopher-lua issue 448: a caught error detached the upvalues of every
-- running function.
local n = 0
local function check(fn) pcall(fn); n = n + 1 end
check(function() end); check(function() end)
check(function() pcall(error, "x") end)
check(function() error("y") end)
assert(n == 4, "counter stopped at " .. n)

-- a server-style handler: counts through a helper, parses under pcall
local count = 0
local function inc() count = count + 1 end
local function parse(s) if s == "bad" then error("bad request") end return s end
for _, r in ipairs{"a", "bad", "b", "bad", "c"} do inc(); pcall(parse, r) end
assert(count == 5, count)

-- closures made in a failed call keep their locals (xpcall and pcall)
local fs = {}
local function mk(i)
  local x = i * 10
  fs[#fs + 1] = function() x = x + 1; return x end
  error("boom" .. i)
end
for i = 1, 3 do assert(not xpcall(function() mk(i) end, function(m) return m end)) end
for i = 4, 6 do assert(not pcall(mk, i)) end
local function burn(a, b, c, d, e) local z = {a, b, c, d, e}; return #z end
for i = 1, 10 do burn(i, i, i, i, i) end
for i = 1, 6 do
  assert(fs[i]() == i * 10 + 1 and fs[i]() == i * 10 + 2, "closure " .. i)
end

-- error values arrive unchanged
local e = setmetatable({code = 7}, {__tostring = function() return "E7" end})
local ok, got = pcall(function() error(e) end)
assert(not ok and got == e and got.code == 7)
ok, got = xpcall(function() error(e) end, function(x) return x end)
assert(not ok and got == e)
ok, got = pcall(error)
assert(not ok and got == nil)
assert(select("#", pcall(error)) == 2)

-- messages and levels (line numbers refer to this file)
local function lvl(k) error("L" .. k, k) end
local function caller(k) lvl(k) end -- line 48
local want = {[0] = "L0", at(47, "L1"), at(48, "L2")}
for k = 0, 2 do
  local ok, m = pcall(caller, k)
  assert(not ok and m == want[k], tostring(m))
end
ok, got = pcall(error, "x", 1)
assert(got == "x", got) -- level 1 is pcall itself
ok, got = pcall(error, "x", 2)
assert(got == at(56, "x"), got) -- level 2 is the line calling pcall
ok, got = pcall(error, 42)
assert(got == "42", got)
ok, got = pcall(error, 42, 0)
assert(got == 42, got)

ok, got = pcall(assert, false, "x")
assert(got == "x", got)
ok, got = pcall(function() assert(false, "x") end)
assert(got == at(65, "x"), got)
ok, got = pcall(function() assert(nil) end)
assert(got == at(67, "assertion failed!"), got)
ok, got = pcall(function() assert(false, {}) end)
assert(got == at(69, "bad argument #2 to 'assert' (string expected, got table)"), got)
assert(select("#", assert(1, 2, 3)) == 3)

ok, got = pcall(pcall, error, "e")
assert(ok == true and got == false)
assert(select(3, pcall(pcall, error, "e")) == "e")
ok, got = pcall(nil)
assert(not ok and got == "attempt to call a nil value", got)
ok, got = pcall(setmetatable({}, {__call = function(_, a) return a * 2 end}), 21)
assert(ok and got == 42)
assert(select("#", pcall(function() return 1, nil, 3, nil end)) == 5)

ok, got = xpcall(function() error("x") end, function(m) return "h:" .. m end)
assert(got == "h:" .. at(82, "x"), got)
ok, got = xpcall(function() error("x") end, function(m) error("y") end)
assert(not ok and got == "error in error handling", got)
ok, got = xpcall(function() return "fine", 2 end, print)
assert(ok and got == "fine")

-- xpcall(f, debug.traceback) shows the whole stack, as in Lua 5.1
local here = debug.getinfo(1, "l").currentline
local function tbInner() error("deep") end
local function tbMiddle() tbInner() end
ok, got = xpcall(tbMiddle, debug.traceback)
local src = arg[0]
local want = table.concat({
  at(here + 1, "deep"),
  "stack traceback:",
  "\t[C]: in function 'error'",
  "\t" .. src .. ":" .. (here + 1) .. ": in function 'tbInner'",
  "\t" .. src .. ":" .. (here + 2) .. ": in function <" .. src .. ":" .. (here + 2) .. ">",
  "\t[C]: in function 'xpcall'",
  "\t" .. src .. ":" .. (here + 3) .. ": in main chunk",
  "\t[C]: ?"}, "\n")
assert(not ok and got == want, got)
local t1 = {}
assert(debug.traceback(t1) == t1)
assert(debug.traceback("m", 1) == "m\nstack traceback:\n\t" .. src .. ":" .. (here + 17) .. ": in main chunk\n\t[C]: ?")

-- runtime errors in Lua 5.1's words, naming the variable
local function msg(f) return (select(2, pcall(f)):gsub("^[^:]+:%d+: ", "")) end
assert(msg(function() return "a" .. {} end) == "attempt to concatenate a table value")
assert(msg(function() return nil .. "a" end) == "attempt to concatenate a nil value")
assert(msg(function() return {} + 1 end) == "attempt to perform arithmetic on a table value")
assert(msg(function() return "x" * 2 end) == "attempt to perform arithmetic on a string value")
assert(msg(function() return 2 ^ nil end) == "attempt to perform arithmetic on a nil value")
assert(msg(function() local t; return t.x end) == "attempt to index local 't' (a nil value)")
assert(msg(function() local n = 5; n.x = 1 end) == "attempt to index local 'n' (a number value)")
assert("10" + 1 == 11 and "0x10" * 1 == 16)

-- unbounded recursion through pcall is an error, not a crash
local function rec() return pcall(rec) end
local results = {rec()}
assert(results[#results] == "C stack overflow", results[#results])

-- and through coroutines
local function wrapped() return coroutine.wrap(wrapped)() end
ok, got = pcall(wrapped)
assert(not ok and got:find("C stack overflow", 1, true), got)
local function resumed() return coroutine.resume(coroutine.create(resumed)) end
results = {resumed()}
assert(results[#results] == "C stack overflow", results[#results])
assert(coroutine.running() == nil and select(2, pcall(coroutine.running)) == nil)
local co2 = coroutine.create(function()
  local inside = coroutine.running()
  local _, viaPcall = pcall(coroutine.running)
  coroutine.yield(inside, viaPcall)
end)
local _, inside, viaPcall = coroutine.resume(co2)
assert(inside == co2 and viaPcall == co2)
local gen = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
assert(gen(1) == 2 and gen(5) == 10)
assert(not pcall(task.spawn, gen), "a coroutine stays in its task")

-- deep recursion: 10,000 Lua calls and more
local function depth(k) if k == 0 then return 0 end return 1 + depth(k - 1) end
assert(depth(10000) == 10000)
assert(depth(11500) == 11500)
ok, got = pcall(depth, 1e7)
assert(not ok and tostring(got):find("stack overflow"), got)
assert(depth(100) == 100) -- still usable after the overflow

-- the same inside a task, and table errors through t:wait()
local t = task.spawn(function()
  local c = 0
  local function bump() c = c + 1 end
  for i = 1, 3 do bump(); pcall(error, "bad " .. i) end
  return c
end)
local tok, c = t:wait()
assert(tok and c == 3, tostring(c))
t = task.spawn(function() error({code = 7, why = "x"}) end)
tok, got = t:wait()
assert(not tok and type(got) == "table" and got.code == 7 and got.why == "x", tostring(got))
t = task.spawn(function() error("plain") end)
tok, got = t:wait()
assert(not tok and got:find("plain", 1, true), got)
print("ok")
