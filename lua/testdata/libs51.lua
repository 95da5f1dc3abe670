-- The base, table, math and os functions that wirelab corrects to behave
-- as Lua 5.1's (lib_base.go, internal/lua51: table.go, math.go, os.go). Every
-- expected value is what lua5.1 gives; the file passes under lua5.1 too.
-- Error messages are matched by their tail, since where an error names
-- its position and function is not this file's business.

local function fails(tail, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "no error, expected " .. tail)
  msg = tostring(msg)
  assert(msg:sub(-#tail) == tail, "error " .. msg .. ", expected " .. tail)
end

local function pack(...) return {n = select("#", ...), ...} end

-- select
assert(select("#") == 0 and select("#", nil, nil) == 2)
assert(select("#x", 1, 2) == 2)
assert(select(2, "a", "b", "c") == "b")
assert(select("2", "a", "b") == "b")
assert(select(-1, "a", "b", "c") == "c")
assert(pack(select(-3, "a", "b", "c")).n == 3)
assert(pack(select(5, "a")).n == 0)
fails("(index out of range)", select, -4, "a", "b", "c")
fails("(index out of range)", select, 0, "a")
fails("(number expected, got string)", select, "x")

-- unpack
local r = pack(unpack({1, 2, 3}, 2, 5))
assert(r.n == 4 and r[1] == 2 and r[2] == 3 and r[3] == nil)
r = pack(unpack({[-1] = "m", [0] = "z", "a"}, -1, 1))
assert(r.n == 3 and r[1] == "m" and r[2] == "z" and r[3] == "a")
assert(pack(unpack({1, 2, 3}, 3, 2)).n == 0)
assert(pack(unpack({1, 2, 3}, "2", "3")).n == 2)
assert(select("#", unpack({}, 1, 7990)) == 7990)
fails("too many results to unpack", unpack, {}, 1, 8000)
fails("too many results to unpack", unpack, {}, 1, 1e8)

-- rawequal
assert(rawequal(1, 1) and rawequal("a", "a"))
assert(not rawequal({}, {}) and not rawequal(1, "1"))
assert(rawlen == nil)

-- setmetatable, newproxy, next, pairs, ipairs
fails("(nil or table expected)", setmetatable, {}, 1)
fails("(nil or table expected)", setmetatable, {})
fails("(table expected, got nil)", setmetatable, nil, {})
fails("(table expected, got number)", setmetatable, 1, {})
assert(getmetatable(1) == nil)
local locked = setmetatable({}, {__metatable = "locked"})
fails("cannot change a protected metatable", setmetatable, locked, {})
assert(getmetatable(locked) == "locked")
local proxy = newproxy(true)
assert(type(proxy) == "userdata" and getmetatable(newproxy(proxy)) == getmetatable(proxy))
assert(getmetatable(newproxy(false)) == nil and getmetatable(newproxy()) == nil)
fails("(boolean or proxy expected)", newproxy, 1)
fails("(table expected, got no value)", next)
fails("(table expected, got no value)", pairs)
fails("(table expected, got nil)", ipairs, nil)
assert(next({}) == nil and select("#", next({})) == 1)

-- getfenv and setfenv
assert(getfenv() == _G and getfenv(0) == _G and getfenv(1) == _G)
assert(getfenv(print) == _G and getfenv("1") == _G)
do
  local env = {getfenv = getfenv, setfenv = setfenv}
  local function f() return getfenv(1) end
  assert(setfenv(f, env) == f and f() == env)
  local function g() local function h() return getfenv(2) end local e = h() return e end
  setfenv(g, env)
  assert(g() == env)
  local function k() setfenv(1, {y = 5}) return y end -- y: the new environment's
  assert(k() == 5)
end
fails("(invalid level)", getfenv, 50)
fails("(level must be non-negative)", getfenv, -1)
fails("(invalid level)", setfenv, 50, {})
fails("'setfenv' cannot change environment of given object", setfenv, print, {})
fails("(table expected, got number)", setfenv, 1, 1)

-- collectgarbage and gcinfo
assert(type(collectgarbage("count")) == "number" and collectgarbage("count") > 0)
assert(collectgarbage() == 0 and collectgarbage("collect") == 0)
assert(collectgarbage("stop") == 0 and collectgarbage("restart") == 0)
assert(type(collectgarbage("step")) == "boolean")
assert(collectgarbage("setpause", 100) == 200 and collectgarbage("setpause", 200) == 100)
assert(collectgarbage("setstepmul", 300) == 200 and collectgarbage("setstepmul", 200) == 300)
fails("(invalid option 'nooption')", collectgarbage, "nooption")
fails("(invalid option '1')", collectgarbage, 1)
local kib = gcinfo() -- one reading: the heap moves between two
assert(math.floor(kib) == kib and kib > 0)

-- require finds the standard libraries
assert(require("string") == string and require("table") == table)
assert(require("math") == math and require("os") == os and require("io") == io)
assert(require("_G") == _G and require("package") == package)
assert(package.loaded.coroutine == coroutine or require("coroutine") == coroutine)
local lib, msg, when = package.loadlib("nonexistent.so", "luaopen_x")
assert(lib == nil and type(msg) == "string" and (when == "open" or when == "absent"))

-- strings in arithmetic
assert("10" + 1 == 11 and "0x10" + 0 == 16 and " 10 " * 2 == 20)
assert("1e1" * 1 == 10 and "10" / "2" == 5 and -"3" == -3 and "7" % "4" == 3)
fails("attempt to compare number with string", function() return 1 < "2" end)

-- table.concat
assert(table.concat({1, 2, 3}) == "123")
assert(table.concat({1, 2, 3}, ", ", 2) == "2, 3")
assert(table.concat({1, 2, 3}, ", ", 3, 2) == "")
assert(table.concat({1, 2}, 3) == "132")
assert(table.concat({"a", "b"}, "", "1", "2") == "ab")
assert(table.concat({"a", "b", "c"}, "", 1.9, 2) == "ab")
assert(table.concat({[0] = "z", "a"}, "", 0, 1) == "za")
assert(table.concat({1, 2.5, "x"}, "|") == "1|2.5|x")
fails("invalid value (nil) at index 4 in table for 'concat'", table.concat, {1, 2, 3}, ", ", 1, 5)
fails("invalid value (table) at index 2 in table for 'concat'", table.concat, {1, {}, 3})
fails("(string expected, got table)", table.concat, {1, 2}, {})
fails("(table expected, got nil)", table.concat, nil)
local t = {}
for i = 1, 1000000 do t[i] = "x" end
local s = table.concat(t)
assert(#s == 1000000 and s:sub(1, 3) == "xxx")
assert(#table.concat(t, ", ", 1, 100000) == 100000 * 3 - 2)
t, s = nil, nil

-- table.insert and table.remove
t = {1, 2, 3}; table.insert(t, 1, 0)
assert(t[1] == 0 and t[4] == 3)
t = {1, 2, 3}; table.insert(t, 0, 9)
assert(t[0] == 9 and t[1] == nil and t[2] == 1 and t[4] == 3)
t = {1, 2, 3}; table.insert(t, -1, 9)
assert(t[-1] == 9 and t[1] == nil and t[4] == 3)
t = {1, 2, 3}; table.insert(t, "2", 7)
assert(t[2] == 7 and t[4] == 3)
t = {1, 2, 3}; table.insert(t, 2.7, 7)
assert(t[2] == 7 and t[3] == 2)
fails("wrong number of arguments to 'insert'", table.insert, {}, 1, 2, 3)
fails("wrong number of arguments to 'insert'", table.insert, {})
fails("(number expected, got string)", table.insert, {}, "x", 2)
t = {1, 2, 3}
assert(table.remove(t) == 3 and #t == 2)
assert(table.remove(t, "1") == 1 and t[1] == 2 and t[2] == nil)
assert(pack(table.remove(t, 5)).n == 0 and pack(table.remove(t, 0)).n == 0)
assert(pack(table.remove({})).n == 0 and pack(table.remove({}, 1)).n == 0)
assert(pack(table.remove({[0] = 1}, 0)).n == 0)

-- table.maxn, getn, setn, foreach, foreachi
assert(table.maxn({}) == 0 and table.maxn({1, 2, nil, 4}) == 4)
assert(table.maxn({[1.5] = 1, [-3] = 2}) == 1.5 and table.maxn({[10] = 1, a = 2}) == 10)
assert(table.getn({1, 2, 3}) == 3 and table.getn({n = 5}) == 0)
fails("'setn' is obsolete", table.setn, {}, 3)
assert(table.foreach({10}, function(k, v) return k + v end) == 11)
assert(table.foreachi({10, 20, 30}, function(i, v) if i == 2 then return v end end) == 20)
local seen = {}
assert(table.foreach({a = 1, b = 2}, function(k, v) seen[k] = v end) == nil)
assert(seen.a == 1 and seen.b == 2)

-- table.sort
t = {3, 1, 2}; table.sort(t)
assert(t[1] == 1 and t[2] == 2 and t[3] == 3)
t = {3, 1, 2}; table.sort(t, function(a, b) return a > b end)
assert(t[1] == 3 and t[3] == 1)
t = {3, 1, 2}; table.sort(t, nil)
assert(t[1] == 1)
fails("invalid order function for sorting", table.sort, {5, 5, 5, 5, 5}, function() return true end)
fails("invalid order function for sorting", table.sort, {3, 1, 2, 5, 4, 7, 6, 9, 8, 10, 12, 11},
  function() return true end)
t = {}
for i = 1, 100 do t[i] = i % 7 end
fails("attempt to compare number with nil", table.sort, t, function(a, b) return a <= b end)
fails("attempt to compare number with string", table.sort, {"b", "a", 3})
fails("(function expected, got number)", table.sort, {3, 1, 2}, 1)
-- 5.1's quicksort, comparison for comparison
t = {5, 3, 8, 1, 9, 2, 7, 3, 6, 4, 0, 5}
local log = {}
table.sort(t, function(a, b) log[#log + 1] = a .. b return a < b end)
assert(table.concat(log, " ") == "55 25 35 85 54 15 95 56 53 05 75 57 50 59 85 98 68 78 88 87 " ..
  "75 65 76 02 40 24 32 21 32 23 21 10 43 33 43")
assert(table.concat(t, ",") == "0,1,2,3,3,4,5,5,6,7,8,9")

-- math
assert(math.huge > 1e308 and math.huge == 2 * math.huge and -math.huge < -1e308)
assert(math.pi == 3.1415926535897932)
assert(math.fmod(7, 3) == 1 and math.fmod(-7, 3) == -1 and math.fmod(7, -3) == 1)
assert(math.fmod(7.5, 2) == 1.5 and math.fmod(5, math.huge) == 5)
assert(math.mod(-7, 3) == -1)
local i, f = math.modf(3.7)
assert(i == 3 and math.abs(f - 0.7) < 1e-15)
i, f = math.modf(-math.huge)
assert(i == -math.huge and f == 0 and 1 / f == -math.huge)
i, f = math.modf(5)
assert(i == 5 and f == 0)
local m, e = math.frexp(8)
assert(m == 0.5 and e == 4)
m, e = math.frexp(-3)
assert(m == -0.75 and e == 2)
assert(math.ldexp(1, 3) == 8 and math.ldexp(3, "2") == 12 and math.ldexp(1, 2.9) == 4)
-- -0 only at run time: 5.1 keeps one constant for 0 and -0 in a function
local zero = 0
assert(1 / math.floor(-zero) == -math.huge and 1 / math.ceil(-0.5) == -math.huge)
assert(math.floor(-0.5) == -1 and math.ceil(3.2) == 4 and math.floor("3.5") == 3)
assert(math.max(1, 2, "3") == 3 and math.min(3, "1") == 1)
fails("(number expected, got no value)", math.max)
fails("(number expected, got no value)", math.min)
fails("(number expected, got string)", math.max, 1, "x")

-- math.random and math.randomseed
math.randomseed(42)
local a, b, c = math.random(), math.random(10), math.random(5, 7)
math.randomseed(42)
assert(math.random() == a and math.random(10) == b and math.random(5, 7) == c)
assert(a >= 0 and a < 1 and b >= 1 and b <= 10 and c >= 5 and c <= 7)
math.randomseed("7")
assert(math.random(3, 3) == 3 and math.random(1) == 1 and math.random(-5, -5) == -5)
assert(math.random(2.9) <= 2)
local hit = {}
for _ = 1, 1000 do hit[math.random(3)] = true end
assert(hit[1] and hit[2] and hit[3] and not hit[0] and not hit[4])
fails("(interval is empty)", math.random, 0)
fails("(interval is empty)", math.random, 2, 1)
fails("wrong number of arguments", math.random, 1, 2, 3)
fails("(number expected, got string)", math.random, "x")

-- os.date: 1700000000 is Tuesday 2023-11-14 22:13:20 UTC
local when = 1700000000
local want = {
  a = "Tue", A = "Tuesday", b = "Nov", B = "November", c = "Tue Nov 14 22:13:20 2023",
  d = "14", H = "22", I = "10", j = "318", m = "11", M = "13", p = "PM", S = "20",
  U = "46", w = "2", W = "46", x = "11/14/23", X = "22:13:20", y = "23", Y = "2023",
  Z = "GMT", ["%"] = "%", e = "14", D = "11/14/23", T = "22:13:20", F = "2023-11-14",
  R = "22:13", h = "Nov", n = "\n", t = "\t", C = "20", g = "23", G = "2023", u = "2",
  V = "46", z = "+0000", k = "22", l = "10", P = "pm",
  r = "10:13:20 PM", Q = "%Q",
}
for conv, s in pairs(want) do
  local got = os.date("!%" .. conv, when)
  assert(got == s, "%" .. conv .. ": " .. got)
end
assert(os.date("!%c", 0) == "Thu Jan  1 00:00:00 1970")
assert(os.date("%s", when) == "1700000000")
assert(os.date("!%Y-%m-%d %H:%M:%S", -1) == "1969-12-31 23:59:59")
assert(os.date("!%j %U %W", 1704067200) == "001 00 01")
assert(os.date("!%j %U %W %a", 1704067200 + 86400 * 6) == "007 01 01 Sun")
assert(os.date("!%I %p", 0) == "12 AM" and os.date("!%I %p", 43200) == "12 PM")
assert(os.date("!%H", "3600") == "01")
assert(os.date("!%c", 1e10) == "Sat Nov 20 17:46:40 2286")
assert(os.date("%") == "%" and os.date("a%") == "a%" and os.date("", 0) == "" and os.date("!", 0) == "")
assert(os.date("%Ex", 0) == "%Ex" and os.date("%Oy", 0) == "%Oy")
assert(type(os.date()) == "string")
fails("(number expected, got string)", os.date, "%c", "x")
local d = os.date("!*t", when)
assert(d.year == 2023 and d.month == 11 and d.day == 14 and d.hour == 22 and d.min == 13)
assert(d.sec == 20 and d.wday == 3 and d.yday == 318 and d.isdst == false)
d = os.date("*t", when)
assert(type(d.isdst) == "boolean" and d.yday >= 317 and d.yday <= 319)

-- os.time normalizes as mktime does
local t0 = os.time{year = 2000, month = 1, day = 1, hour = 0}
assert(os.time{year = 2000, month = 13, day = 1, hour = 0} == t0 + 366 * 86400)
assert(os.time{year = 2000, month = 1, day = 0, hour = 0} == t0 - 86400)
assert(os.time{year = 2000, month = 1, day = 1, hour = 12, min = -30, sec = 3600} == t0 + 12.5 * 3600)
assert(os.time{year = 2000, month = 1, day = 1, sec = 1.7} == t0 + 12 * 3600 + 1)
assert(os.time{year = 2000, month = "1", day = "1", hour = "0"} == t0)
assert(os.time(os.date("*t", when)) == when)
assert(os.time() == os.time(nil) or os.time() - os.time(nil) <= 1)
fails("field 'day' missing in date table", os.time, {year = 2000})
fails("field 'day' missing in date table", os.time, {year = 2000, month = 1})
fails("(table expected, got number)", os.time, 5)

-- os.difftime, os.clock, os.getenv, os.tmpname, os.remove, os.rename
assert(os.difftime(10, 5) == 5 and os.difftime(5) == 5 and os.difftime(1.5, 0.25) == 1)
fails("(number expected, got no value)", os.difftime)
assert(type(os.clock()) == "number" and os.clock() >= 0)
assert(os.getenv("NO_SUCH_VAR_XYZ_51") == nil)
local name = os.tmpname()
local fh = io.open(name)
assert(type(name) == "string" and fh)
fh:close()
assert(os.remove(name) == true)
local ok, msg, errno = os.remove(name)
assert(ok == nil and msg == name .. ": No such file or directory" and errno == 2)
ok, msg, errno = os.rename("/nonexistent/x", "/nonexistent/y")
assert(ok == nil and msg == "/nonexistent/x: No such file or directory" and errno == 2)

-- os.execute: the shell's wait status, as system's; on Windows (a "\\"
-- in package.config) cmd.exe's exit code, as the C runtime's system
if package.config:sub(1, 1) == "\\" then
  assert(os.execute("exit 3") == 3 and os.execute("ver >nul") == 0 and os.execute() == 1)
else
  assert(os.execute("exit 3") == 768 and os.execute("true") == 0)
  assert(os.execute("kill -9 $$") == 9 and os.execute() == 1)
end

-- os.setlocale: the C locale only
assert(os.setlocale() == "C" and os.setlocale("C") == "C" and os.setlocale("POSIX") == "C")
assert(os.setlocale("xx_YY") == nil and os.setlocale(nil, "numeric") == "C")
assert(os.setlocale("C", "all") == "C")
fails("(invalid option 'bogus')", os.setlocale, "C", "bogus")

-- io: the standard files stay open
local ok, msg = io.stdout:close()
assert(ok == nil and msg == "cannot close standard file")
ok, msg = io.close()
assert(ok == nil and msg == "cannot close standard file")
assert(io.type(io.stdout) == "file")
fails("(FILE* expected, got no value)", getmetatable(io.stdout).__gc)

-- io.open fails as fopen does, and takes the modes it takes
ok, msg, errno = io.open("/nonexistent/x")
assert(ok == nil and msg == "/nonexistent/x: No such file or directory" and errno == 2)
name = os.tmpname()
ok, msg, errno = io.open(name, "z")
assert(ok == nil and msg == name .. ": Invalid argument" and errno == 22)
fh = assert(io.open(name, "wz+"))
assert(fh:write("abc") == true)
fh:seek("set")
assert(fh:read("*a") == "abc")
fails("(invalid option 'bogus')", fh.seek, fh, "bogus")
fails("(invalid option 'bogus')", fh.setvbuf, fh, "bogus")
fails("(invalid format)", fh.read, fh, "*x")
assert(tostring(fh):find("^file %(0x"))
fh:close()
assert(tostring(fh) == "file (closed)")
fails("attempt to use a closed file", fh.read, fh)
fails("attempt to use a closed file", fh.write, fh, "x")
fails(name .. "x: No such file or directory)", io.lines, name .. "x")

-- setvbuf("line") writes out at each newline
local w, r = assert(io.open(name, "w")), assert(io.open(name, "r"))
assert(w:setvbuf("line"))
w:write("x")
assert(r:read("*a") == "")
w:write("a\n")
r:seek("set")
assert(r:read("*a") == "xa\n")
w:close()
r:close()
os.remove(name)

print("ok")
