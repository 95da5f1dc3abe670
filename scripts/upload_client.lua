-- Upload client: `put PATH` uploads a file, `get NAME` downloads one, each checked with a digest (blake3, sha256 or md5).
--
-- Speaks upload_server's protocol: struct.pack('i', len(h)), a JSON header,
-- then the bytes, which go from disk to socket and back inside Go. A
-- progress bar shows on stderr when it is a terminal. Downloads land in the
-- current directory (or --dir) and never replace a file: a taken name gets
-- .1, .2, ...
--
-- --hash picks the digest (blake3, the fastest, by default). The request
-- names it, "hash": "blake3", beside the "md5": "after" of older wirelabs:
-- a wirelab server answers with the digest it used under the algorithm's
-- own name, {"hash": "blake3", "blake3": SUM}, so that no digest is ever
-- compared with one of another algorithm; an older wirelab server answers
-- {"md5": SUM} and the file is hashed again with md5 to confirm it. With
-- --hash md5 the request is the one older wirelabs sent, byte for byte.
local M = {}

M.defaults = {host = "127.0.0.1", port = 9090, dir = ".", hash = "blake3"}
M.help = {host = "server address", port = "server port", dir = "directory downloads are saved in",
  hash = "digest that checks each transfer: blake3, sha256 or md5 (an upload_server that does not know it "
    .. "answers with md5, which is then used; a server written from the documents checks nothing: "
    .. "the upload is stored but not confirmed, and the client says so with the file's md5)"}

-- M.hashes are the digests --hash may name.
M.hashes = {blake3 = true, sha256 = true, md5 = true}

local function header(conn, h)
  return conn:send_msg(h, nil, {size_key = ""})
end

-- algorithm is the digest a reply used: the one it names, or md5 for a
-- reply that names none (an older wirelab server, or --hash md5), and its
-- hex digest, held under that algorithm's name.
local function algorithm(r)
  local algo = r.hash
  if algo == nil then algo = "md5" end
  return algo, r[algo]
end

-- put sends the documents' request, struct.pack('i', len(h)) + h with h =
-- {opt, filename, filesize}, then the bytes, as one send_file that hashes
-- them as they go. The header says "md5": "after" (and "hash": algo unless
-- that is md5): a document-style server ignores both and stores the bytes;
-- upload_server answers with the digest it computed once the bytes are on
-- disk, ours follows, and it keeps the file only if the two agree.
function M.put(conn, path, algo)
  algo = algo or M.defaults.hash
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local size = f:seek("end")
  f:close()
  -- the last element of the path; on Windows a backslash separates them too
  local name = path:match(package.config:sub(1, 1) == "\\" and "[^/\\]+$" or "[^/]+$")
  local req = {opt = "upload", filename = name, filesize = size, md5 = "after"}
  if algo ~= "md5" then req.hash = algo end
  local h = json.encode(req, {python = true})
  local n, sum, sent = conn:send_file(path, {head = struct.pack("i", #h) .. h, size = size, hash = algo, progress = true})
  if not n then
    if sent > 0 then conn:close() end -- the server waits for bytes that will not come
    return nil, sum
  end
  local r, rerr = conn:recv_msg({size_key = "", body = false})
  if not r then
    -- A server written from the documents stores the bytes and says
    -- nothing: its user checks them by hand, with md5sum as the documents do.
    local said = algo .. " " .. sum
    if algo ~= "md5" then said = said .. ", md5 " .. tostring(hash.file("md5", path)) end
    return nil, ("sent %d bytes (%s) but the server did not confirm them: %s"):format(n, said, rerr)
  end
  if r.ok ~= true then return nil, tostring(r.error) end
  local used = algorithm(r)
  if used ~= algo then
    -- The server did not know algo (an older wirelab's only digest is
    -- md5): the bytes sent are confirmed with its digest of them, which
    -- a file changed since cannot match.
    if type(used) ~= "string" or not M.hashes[used] then
      conn:close()
      return nil, "the server answered with an unknown hash " .. tostring(used)
    end
    local herr
    sum, herr = hash.file(used, path)
    if not sum then
      conn:close()
      return nil, herr
    end
  end
  local c = {opt = "confirm", [used] = sum}
  if r.hash ~= nil then c.hash = used end
  local ok, cerr = header(conn, c)
  if not ok then return nil, cerr end
  r, rerr = conn:recv_msg({size_key = "", body = false})
  if not r then return nil, rerr end
  if r.ok ~= true then return nil, tostring(r.error) end
  local final, fsum = algorithm(r)
  if final ~= used or fsum ~= sum then
    return nil, ("server's %s %s differs from %s %s"):format(tostring(final), tostring(fsum), used, sum)
  end
  return string.format("uploaded %s as %s (%d bytes, %s %s)", path, tostring(r.filename), size, used, sum)
end

-- get asks for name, naming algo as put does; the reply's digest, in the
-- algorithm it names (md5 from an older server), checks the bytes.
function M.get(conn, name, dir, algo)
  algo = algo or M.defaults.hash
  local req = {opt = "download", filename = name, filesize = json.null}
  if algo ~= "md5" then req.hash = algo end
  local ok, err = header(conn, req)
  if not ok then return nil, err end
  local r, rerr = conn:recv_msg({size_key = "", body = false})
  if not r then return nil, rerr end
  if r.ok ~= true then return nil, tostring(r.error) end
  if r.filename ~= name then
    conn:close() -- its bytes follow; nothing after them can be trusted
    return nil, "the server answered with " .. tostring(r.filename) .. ", not " .. name
  end
  local used, theirs = algorithm(r)
  if type(used) ~= "string" or not M.hashes[used] or type(theirs) ~= "string" then
    conn:close()
    return nil, "the server answered without a " .. tostring(used) .. " digest to check the bytes with"
  end
  local n, sum, stored = conn:recv_file(name, r.filesize,
    {dir = dir, hash = used, expect = theirs, unique = true, progress = true})
  if not n then return nil, sum end
  return string.format("downloaded %s as %s (%d bytes, %s %s)", name, stored, n, used, sum)
end

if ... == "upload_client" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
if not M.hashes[o.hash] then
  io.stderr:write("--hash must be blake3, sha256 or md5, not ", o.hash, "\n")
  os.exit(2)
end
local conn, err = socket.connect(o.host, o.port)
if not conn then
  io.stderr:write("cannot connect to ", o.host, ":", o.port, ": ", err, "\n")
  os.exit(1)
end
local status = 0
for line in term.lines(">>: ") do
  local cmd, what = line:match("^%s*(%S+)%s+(.-)%s*$")
  local result, rerr
  if cmd == "put" then
    result, rerr = M.put(conn, what, o.hash)
  elseif cmd == "get" then
    result, rerr = M.get(conn, what, o.dir, o.hash)
  elseif line:match("%S") then
    rerr = "commands: put PATH, get NAME"
  end
  if result then print(result) end
  if rerr then
    io.stderr:write(line, ": ", rerr, "\n")
    status = 1
    if conn:closed() then break end
  end
end
conn:close()
os.exit(status)
