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

-- the same with BLAKE3 at both ends; an unknown name is refused before
-- anything moves, naming the ones there are
local want3 = hash.file("blake3", src)
local sender3 = task.spawn(function() return c:send_file(src, {hash = "blake3"}) end)
local n3b, sum3b, name3b = s:recv_file("copy3.bin", size, {dir = store, hash = "blake3", expect = want3})
assert(n3b == size and sum3b == want3 and name3b == "copy3.bin", tostring(sum3b))
local ok3b, sn3b, ssum3b = sender3:wait()
assert(ok3b and sn3b == size and ssum3b == want3 and #want3 == 64)
assert(hash.file("md5", store .. "/copy3.bin") == want)
assert(os.remove(store .. "/copy3.bin"))
for _, call in ipairs({function() return c:send_file(src, {hash = "xxh3"}) end,
    function() return s:recv_file("x.bin", 1, {dir = store, hash = "xxh3"}) end}) do
  local okx, ex = pcall(call)
  assert(not okx and ex:find('unknown hash "xxh3" (md5, sha1, sha256, blake3)', 1, true), ex)
end

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
-- names a Windows peer could not store, or that hide text, say why
for bad, rule in pairs({["CON"] = "reserved on Windows", ["nul.txt"] = "reserved on Windows",
    ["dot."] = "ends in a dot or a space", ["rtl\226\128\174"] = "control or format character U+202E",
    [".wirelab-partial"] = "reserved for partial files"}) do
  local r, e = s:recv_file(bad, 1, {dir = store})
  assert(r == nil and e == "bad file name (" .. rule .. ")", bad .. ": " .. tostring(e))
end
-- a size past max_store is refused before a byte is read
c:send("q")
local q, qe = s:recv_file("quota.bin", 1, {dir = store, max_store = size})
assert(q == nil and qe == "store full", tostring(qe))
assert(s:recv_exact(1) == "q", "a refused file reads nothing")
assert(not pcall(s.recv_file, s, "x", 1, {dir = store, max_store = -1}))
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

-- head goes out just before the bytes; a file that cannot be sent sends
-- nothing (sent == 0), so the stream stays in step
local c3, s3 = pair()
for _, case in ipairs({{src, {size = size + 1}}, {dir .. "/missing", {}}, {store, {}}}) do
  local opts = case[2]
  opts.head = "HEAD"
  local r, e, sent = c3:send_file(case[1], opts)
  assert(r == nil and e and sent == 0, tostring(e) .. " " .. tostring(sent))
end
local sent3 = task.spawn(function() return c3:send_file(src, {head = "HEAD", hash = "md5"}) end)
local bytes3 = assert(s3:recv_exact(4 + size))
local ok3, n3, sum3 = sent3:wait()
assert(ok3 and n3 == size and sum3 == want)
assert(bytes3:sub(1, 4) == "HEAD" and hash.md5(bytes3:sub(5)) == want)

-- confirm sees the digest once the bytes are on disk, before the name:
-- it may talk on the connection, and its answer decides
local seen
local keeper = task.spawn(function() return c3:send_file(src, {hash = "md5"}) end)
local k, ksum, kname = s3:recv_file("confirmed.bin", size, {dir = store, hash = "md5", confirm = function(sum)
  seen = sum
  assert(io.open(store .. "/confirmed.bin") == nil, "not linked yet")
  s3:send("sum?")
  return c3:recv_exact(4) == "sum?"
end})
assert(k == size and ksum == want and kname == "confirmed.bin" and seen == want, tostring(k) .. " " .. tostring(ksum) .. " " .. tostring(kname) .. " " .. tostring(seen))
assert(keeper:wait())
assert(hash.file("md5", store .. "/confirmed.bin") == want)
for _, case in ipairs({{function() return nil, "refused" end, "refused"}, {function() return false end, "not confirmed"}}) do
  c3:send("hello")
  local r, e = s3:recv_file("dropped.txt", 5, {dir = store, hash = "md5", confirm = case[1]})
  assert(r == nil and e == case[2], tostring(e))
end
c3:send("hello")
local okc, ce = pcall(s3.recv_file, s3, "raised.txt", 5, {dir = store, confirm = function() error("boom") end})
assert(not okc and tostring(ce):find("boom"), tostring(ce))
local okt, te = pcall(s3.recv_file, s3, "x", 1, {confirm = 42})
assert(not okt and tostring(te):find("confirm"), tostring(te))
listing = exec.run({"ls", "-A", store}).stdout
assert(listing == "confirmed.bin\ncopy.bin\nescape\n", "refused files are gone: " .. listing)

-- a send cut by the peer says how much went out: the stream is broken.
-- The file is larger than any socket buffers (a sparse 64 MB), so the
-- closed peer's reset stops it partway, however late it comes
local huge = dir .. "/huge.bin"
local hf = assert(io.open(huge, "wb"))
hf:seek("set", 64 * 1024 * 1024 - 1)
hf:write("x")
hf:close()
s3:close()
local cut, cuterr, cutsent = c3:send_file(huge, {head = "HEAD"})
assert(cut == nil and cuterr == "closed" and cutsent > 0, tostring(cuterr) .. " " .. tostring(cutsent))
ln:close()
print("ok")
