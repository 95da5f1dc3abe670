-- struct: Python's struct from Lua.
local function bytes(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

assert(bytes(struct.pack("i", 1234543)) == "6fd61200", "the tutorial's example")
assert(bytes(struct.pack("!I", 258)) == "00000102")
assert(bytes(struct.pack("<hb", -2, 7)) == "feff07")
assert(bytes(struct.pack("@bi", 1, 2)) == "0100000002000000", "native alignment")
assert(bytes(struct.pack("3s", "abcdef")) == "616263")
assert(bytes(struct.pack("?", 0)) == "00" and bytes(struct.pack("?", "x")) == "01", "Python packs truthiness")
assert(struct.calcsize("i") == 4 and struct.calcsize("!IH4s") == 10 and struct.calcsize("@bq") == 16)

local a, b, c, nextpos = struct.unpack("!IH4s", struct.pack("!IH4s", 7, 8, "wire"))
assert(a == 7 and b == 8 and c == "wire" and nextpos == 11)
-- unpack from a position, as a parser walks a buffer
local buf = "xx" .. struct.pack("<i", -5) .. struct.pack("<d", 2.5)
local v, p = struct.unpack("<i", buf, 3)
assert(v == -5 and p == 7)
local d, p2 = struct.unpack("<d", buf, p)
assert(d == 2.5 and p2 == #buf + 1)

-- misuse raises
for _, bad in ipairs({
  function() struct.pack("i", 2^31) end,
  function() struct.pack("i", 1.5) end,
  function() struct.pack("i") end,
  function() struct.pack("k", 1) end,
  function() struct.pack("i", {}) end,
  function() struct.unpack("i", "abc") end,
  function() struct.unpack("i", "abcd", 9) end,
}) do
  local ok, err = pcall(bad)
  assert(not ok, "should have raised")
end
local ok, err = pcall(struct.pack, "i", 2^31)
assert(err:find("'i' format requires", 1, true), err)
print("ok")
