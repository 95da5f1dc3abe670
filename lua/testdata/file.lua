-- send_file and recv_file: bytes go disk to socket and back inside Go.
local dir = arg[1]
local src = dir .. "/src.bin"
local f = assert(io.open(src, "wb"))
for i = 1, 2000 do f:write(string.rep(string.char(i % 256), 1000)) end
f:close()
local want = hash.file("md5", src)
local size = 2000 * 1000
local store = dir .. "/store"
assert(exec.run({"mkdir", store}).code == 0)

local ln = assert(socket.listen("127.0.0.1", 0))
local function pair()
  local accepted = task.spawn(function() return ln:accept() end)
  local c = assert(socket.connect("127.0.0.1", ln:port()))
  local ok, s = accepted:wait()
  assert(ok and s)
  return c, s
end

-- a whole file, hashed on both sides
local c, s = pair()
local sender = task.spawn(function() return c:send_file(src, {hash = "md5"}) end)
local n, sum = s:recv_file("copy.bin", size, {dir = store, hash = "md5", expect = want})
assert(n == size and sum == want, tostring(sum))
local ok, sn, ssum = sender:wait()
assert(ok and sn == size and ssum == want)
assert(hash.file("md5", store .. "/copy.bin") == want)

-- an existing file is never overwritten, unless asked
c:send("abc")
local e1, ee1 = s:recv_file("copy.bin", 3, {dir = store})
assert(e1 == nil and ee1 == "file exists", ee1)
assert(hash.file("md5", store .. "/copy.bin") == want)
assert(s:recv_exact(3) == "abc", "a refused file reads nothing")

-- names from the network are plain names or nothing
for _, bad in ipairs({"", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b"}) do
  local r, e = s:recv_file(bad, 1, {dir = store})
  assert(r == nil and e == "bad file name", bad .. ": " .. tostring(e))
end
-- a symlink in the store cannot lead out of it
local outside = dir .. "/outside.txt"
local of = io.open(outside, "w"); of:write("secret"); of:close()
assert(exec.run({"ln", "-s", outside, store .. "/escape"}).code == 0)
local sf, sfe = c:send_file("escape", {dir = store})
assert(sf == nil, "reading through a link out of the store is refused")
c:send("x")
local r2, e2 = s:recv_file("escape", 1, {dir = store})
assert(r2 == nil and e2 == "file exists")
assert(s:recv_exact(1) == "x")
c:send("y")
assert(s:recv_file("escape", 1, {dir = store, overwrite = true}) == 1)
assert(io.open(outside):read("*a") == "secret", "the link is replaced, never followed")
assert(io.open(store .. "/escape"):read("*a") == "y")

-- a wrong digest keeps nothing
c:send("hello")
local m, me = s:recv_file("bad-md5.txt", 5, {dir = store, hash = "md5", expect = string.rep("0", 32)})
assert(m == nil and me == "checksum mismatch", me)
assert(io.open(store .. "/bad-md5.txt") == nil)

-- a sender that vanishes halfway leaves nothing behind
local half = task.spawn(function()
  c:send(string.rep("z", 1000))
  c:close()
end)
local h, he = s:recv_file("half.bin", 5000, {dir = store})
assert(h == nil and he == "closed", he)
assert(half:wait())
local listing = exec.run({"ls", "-A", store}).stdout
assert(listing == "copy.bin\nescape\n", "only the finished file: " .. listing)

-- send exactly size bytes, refusing a file that shrank
local c2, s2 = pair()
local part = task.spawn(function() return s2:recv_exact(10) end)
assert(c2:send_file(src, {size = 10}) == 10)
local okp, ten = part:wait()
assert(okp and ten == string.rep(string.char(1), 10))
local big, be = c2:send_file(src, {size = size + 1})
assert(big == nil and be == "file shorter than size", be)
local missing, mse = c2:send_file(dir .. "/missing")
assert(missing == nil and mse:find("no such file"), mse)
ln:close()
print("ok")
