-- Chunks, as Lua 5.1 loads them. Expected values are what lua5.1 prints.
local dir = arg[1]

-- a numeric for converts numeric strings
local seen = {}
for i = "1", "3", "1" do seen[#seen + 1] = i end
assert(#seen == 3 and seen[3] == 3 and type(seen[1]) == "number")
local lim = "2"
for i = 1, lim do assert(type(i) == "number") end
local n = 0
for i = 3, 1, -1 do n = n + i end
assert(n == 6)
assert(not pcall(function() for i = 1, "x" do end end))
assert(not pcall(function() for i = {}, 2 do end end))
-- inside functions made by loadstring too
assert(loadstring("local s = 0 for i = '1', '4' do s = s + i end return s")() == 10)

-- chunk names as Lua 5.1 shows them
local ok, err = pcall(loadstring("error('x')"))
assert(err == [[[string "error('x')"]:1: x]], err)
ok, err = pcall(loadstring("\nerror('x')", "=mychunk"))
assert(err == "mychunk:2: x", err)
ok, err = pcall(loadstring("error('x') -- a long line that does not fit in the chunk id", "error('x') -- a long line that does not fit in the chunk id"))
assert(err == [[[string "error('x') -- a long line that does not fit..."]:1: x]], err)
ok, err = pcall(loadstring("error('x')\nlocal more"))
assert(err == [[[string "error('x')..."]:1: x]], err)
local f, msg = loadstring("x=")
assert(f == nil and type(msg) == "string")

-- load from a reader
local parts = {"return ", "1 ", "+ ", "41"}
local i = 0
f = load(function() i = i + 1; return parts[i] end)
assert(f() == 42)
f, msg = load(function() return {} end)
assert(f == nil and msg == "reader function must return a string", msg)

-- files: loadfile, dofile; a first line starting with # is skipped
local path = dir .. "/chunk.lua"
local fh = assert(io.open(path, "w"))
fh:write("#!/usr/bin/env wirelab\nlocal a, b = ...\nreturn 7, debug.getinfo(1, 'l').currentline\n")
fh:close()
local seven, line = dofile(path)
assert(seven == 7 and line == 3, tostring(line))
f = assert(loadfile(path))
assert(f() == 7)
f, msg = loadfile(dir .. "/missing.lua")
assert(f == nil and msg == "cannot open " .. dir .. "/missing.lua: No such file or directory", msg)
ok, msg = pcall(dofile, dir .. "/missing.lua")
assert(not ok and msg == "cannot open " .. dir .. "/missing.lua: No such file or directory", msg)

-- loaded chunks see the globals, not the caller's environment
GLOBAL_SEEN = "global"
local function sandboxed() return loadstring("return GLOBAL_SEEN")() end
setfenv(sandboxed, {loadstring = loadstring})
assert(sandboxed() == "global")

-- require returns the libraries
for _, name in ipairs{"string", "table", "math", "io", "os", "coroutine", "debug", "package", "_G"} do
  assert(require(name) == _G[name], name)
end
assert(require("socket") == socket)
-- gopher-lua drops the positional items of a table constructor past
-- 25,550 without a word: wirelab refuses to compile such a constructor
assert(#loadstring("return {" .. string.rep("1,", 25550) .. "}")() == 25550)
local big, why = loadstring("return {" .. string.rep("1,", 25551) .. "}")
assert(big == nil and why:find("table constructor with 25551 positional items", 1, true), why)
print("ok")
