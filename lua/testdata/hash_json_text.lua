-- hash, json and text.
local dir = arg[1]
assert(hash.md5("hellochen") == "6e92e6e4207d0f85e6f73e7f7eb10f8a", "the tutorial's digest")
local h = hash.new("md5")
h:update("hello"):update("chen")
assert(h:hexdigest() == "6e92e6e4207d0f85e6f73e7f7eb10f8a", "update appends")
assert(hash.sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
assert(hash.new("sha1"):update("abc"):hexdigest() == "a9993e364706816aba3e25717850c26c9cd0d89d")
assert(not pcall(hash.new, "md4"))
-- BLAKE3: the specification's vector for the empty input, and for 1025
-- bytes i % 251 (one chunk and a byte: two chunks in a tree).
assert(hash.blake3("") == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
local v = {}
for i = 0, 1024 do v[#v + 1] = string.char(i % 251) end
v = table.concat(v)
assert(hash.blake3(v) == "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444")
assert(hash.new("blake3"):update(v:sub(1, 1000)):update(v:sub(1001)):hexdigest() == hash.blake3(v))
-- An unknown name is an argument error that lists the known ones.
local okn, en = pcall(hash.new, "md4")
assert(not okn and en == [[bad argument #1 to 'new' (unknown hash "md4" (md5, sha1, sha256, blake3))]], en)
local okf, ef = pcall(hash.file, "xxh3", "x")
assert(not okf and ef == [[bad argument #1 to 'file' (unknown hash "xxh3" (md5, sha1, sha256, blake3))]], ef)

local path = dir .. "/f.bin"
local f = assert(io.open(path, "wb"))
f:write(string.rep("hellochen", 1000))
f:close()
assert(hash.file("md5", path) == hash.md5(string.rep("hellochen", 1000)))
local b3, b3size = hash.file("blake3", path)
assert(b3 == hash.blake3(string.rep("hellochen", 1000)) and b3size == 9000, b3)
local none, err = hash.file("md5", dir .. "/missing")
assert(none == nil and err:find("no such file"), err)

-- json
assert(json.encode({a = 1, b = {1, 2, "x"}, c = true}) == '{"a":1,"b":[1,2,"x"],"c":true}')
assert(json.encode({filename = "a.txt", total_size = 5}, {python = true}) == '{"filename": "a.txt", "total_size": 5}',
  "Python's json.dumps spacing")
assert(json.encode("中", {python = true}) == '"\\u4e2d"', "ensure_ascii")
assert(json.encode("中") == '"中"')
assert(json.encode({1.5, -0.25, 1e20}) == "[1.5,-0.25,1e+20]")
assert(json.encode({}) == "{}")
local t = {}
t.self = t
assert(json.encode(t) == nil, "cycles are refused")
assert(json.encode("\255") == nil, "non-UTF-8 is refused")
assert(json.encode(0/0) == nil)
local v = assert(json.decode('{"a":[1,null,3],"b":{"c":"d"},"n":null}'))
assert(v.a[1] == 1 and v.a[2] == json.null and v.a[3] == 3 and #v.a == 3)
assert(v.b.c == "d" and v.n == json.null and tostring(json.null) == "null")
local bad, berr = json.decode("{")
assert(bad == nil and berr:find("bad JSON"), berr)
assert(json.decode("1 2") == nil)
assert(json.encode(json.decode('{"x":[true,false,null]}')) == '{"x":[true,false,null]}')

-- text: a Windows server answers in GBK
local gbk = text.encode("驱动器 E 中的卷是 DATA", "gbk")
assert(gbk:sub(1, 6) == "\199\253\182\175\198\247", "the tutorial's bytes")
assert(text.decode(gbk, "gbk") == "驱动器 E 中的卷是 DATA")
assert(text.decode(text.encode("héllo", "utf-16le"), "utf-16le") == "héllo")
assert(text.decode("caf\233", "latin1") == "café")
assert(not pcall(text.decode, "x", "no-such-encoding"))
-- text.quote: one line for a log, whatever a peer sent; printable UTF-8 stays
assert(text.quote('a\nb"\\') == '"a\\nb\\"\\\\"', text.quote('a\nb"\\'))
assert(text.quote("\226\128\174rtl\239\187\191\255\27") == '"\\u202ertl\\ufeff\\xff\\x1b"')
assert(text.quote("报告.txt") == '"报告.txt"')
print("ok")
