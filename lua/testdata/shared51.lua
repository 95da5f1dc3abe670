-- The libraries are shared between states and seen through views
-- (libviews.go). Nothing a script can do tells a view from the library of
-- Lua 5.1: these checks pass the same under lua5.1.

-- Globals: the base functions are fields of _G.
assert(rawget(_G, "print") == print)
assert(rawget(_G, "_G") == _G and _G._G == _G)
local names = {}
for k, v in pairs(_G) do names[k] = v end
assert(names.print == print and names.pairs == pairs and names._G == _G and names.tostring == tostring)
assert(next(_G) ~= nil)

-- Assigning nil removes a base function; assigning back restores it.
local savedtype = type
type = nil
assert(type == nil and rawget(_G, "type") == nil)
type = savedtype
assert(type(1) == "number")

-- Removing a library before first use: it stays removed.
io = nil
assert(io == nil)
assert(rawget(_G, "io") == nil)

-- string: additions reach strings' methods, removals stay removed.
function string.trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
assert(("  hi  "):trim() == "hi")
assert(rawget(string, "format") == string.format)
local n = 0
for k in pairs(string) do n = n + 1 end
assert(n >= 16, n)
local rep = string.rep
string.rep = nil
assert(string.rep == nil and ("x").rep == nil)
string.rep = rep
assert(("ab"):rep(2) == "abab")
assert(getmetatable("").__index == string)
assert(getmetatable(string) == nil)

-- table: rawset and foreach see every field.
assert(rawget(table, "insert") == table.insert)
local seen = 0
table.foreach(table, function() seen = seen + 1 end)
assert(seen >= 9, seen)

-- A state whose strings' metatable was replaced keeps it.
debug.setmetatable("", {__index = {shout = function(s) return string.upper(s) .. "!" end}})
assert(("a"):shout() == "A!")
string.extra = function() return 1 end
assert(("a").extra == nil)

-- setmetatable on _G (strict mode) keeps every base function.
setmetatable(_G, {__newindex = function(t, k, v) rawset(t, k, v) end, __index = function(_, k) error("undeclared " .. k, 2) end})
assert(print and tostring(1) == "1")
assert(not pcall(function() return undeclared_global end))
setmetatable(_G, nil)

-- Library functions: their environment is the globals; upvalues and
-- environments of shared functions cannot be changed.
assert(getfenv(print) == _G)
assert(debug.getfenv(print) == _G)

print("ok")
