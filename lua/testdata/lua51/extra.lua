-- Checks of Lua 5.1 behaviour that the suite does not make, run by
-- lua51suite_test.go as one more file of the suite: each assert holds
-- under lua5.1, and where wirelab differs, suiteAllowed says why.
print("testing what the suite leaves out")

-- A table constructor keeps all its positional items.
local big = loadstring("return {" .. string.rep("7,", 30000) .. "}")
assert(big and #big() == 30000 and big()[30000] == 7)

-- The length of a table with a hole is the border 5.1 finds.
local t = {1, 2, 3}
t[5] = 5
assert(#t == 3)

-- getfenv at a level that is a tail call has no function to look at.
local function h() return getfenv(2) end
local function g() return h() end
assert(not pcall(g))

-- next with a key that is not in the table.
assert(not pcall(next, {}, "nokey"))

-- Numbers print with 14 significant digits, and C's names for the
-- special values.
local zero = 0
assert(tostring(-zero) == "-0")
assert(tostring(1e15) == "1e+15" and tostring(2^53) == "9.007199254741e+15")
assert(tostring(math.pi) == "3.1415926535898" and tostring(1/3) == "0.33333333333333")
assert(tostring(math.huge) == "inf" and tostring(-math.huge) == "-inf")
assert(tostring(0/0) == "nan" or tostring(0/0) == "-nan")
assert(("x"):rep(2) .. 1e100 == "xx1e+100")

-- file:write returns true, not the file.
local f = io.tmpfile()
assert(f:write("12 0x1F -3.5e1 abc\n") == true)
f:seek("set")
-- read("*n") reads as C's fscanf("%lf").
local a, b, c = f:read("*n", "*n", "*n")
assert(a == 12 and b == 31 and c == -35)
f:close()

-- A missing argument is "no value", not nil.
local ok, msg = pcall(math.sqrt)
assert(not ok and msg:find("got no value"))

-- loadstring names a chunk by its text.
local _, err = loadstring("x = = 1")
assert(err:find('^%[string "x = = 1"%]:1:'))

-- A coroutine cannot be made of a Go (C) function.
assert(not pcall(coroutine.create, print))

print("OK")
