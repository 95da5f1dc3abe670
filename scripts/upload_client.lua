-- Upload client: `put PATH` uploads a file, `get NAME` downloads one, each checked with md5.
--
-- Speaks upload_server's protocol: struct.pack('i', len(h)), a JSON header,
-- then the bytes, which go from disk to socket and back inside Go. A
-- progress bar shows on stderr when it is a terminal. Downloads land in the
-- current directory (or --dir) and never replace a file: a taken name gets
-- .1, .2, ...
local M = {}

M.defaults = {host = "127.0.0.1", port = 9090, dir = "."}
M.help = {host = "server address", port = "server port", dir = "directory downloads are saved in"}

local function header(conn, h)
  return conn:send_msg(h, nil, {size_key = ""})
end

-- put sends the documents' request, struct.pack('i', len(h)) + h with h =
-- {opt, filename, filesize}, then the bytes, as one send_file that hashes
-- them as they go. The header says "md5": "after": a document-style server
-- ignores it and stores the bytes; upload_server answers with the md5 it
-- computed once the bytes are on disk, our md5 follows, and it keeps the
-- file only if the two agree.
function M.put(conn, path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local size = f:seek("end")
  f:close()
  -- the last element of the path; on Windows a backslash separates them too
  local name = path:match(package.config:sub(1, 1) == "\\" and "[^/\\]+$" or "[^/]+$")
  local h = json.encode({opt = "upload", filename = name, filesize = size, md5 = "after"}, {python = true})
  local n, sum, sent = conn:send_file(path, {head = struct.pack("i", #h) .. h, size = size, hash = "md5", progress = true})
  if not n then
    if sent > 0 then conn:close() end -- the server waits for bytes that will not come
    return nil, sum
  end
  local r, rerr = conn:recv_msg({size_key = "", body = false})
  if not r then
    return nil, ("sent %d bytes (md5 %s) but the server did not confirm them: %s"):format(n, sum, rerr)
  end
  if r.ok ~= true then return nil, tostring(r.error) end
  local ok, cerr = header(conn, {opt = "confirm", md5 = sum})
  if not ok then return nil, cerr end
  r, rerr = conn:recv_msg({size_key = "", body = false})
  if not r then return nil, rerr end
  if r.ok ~= true then return nil, tostring(r.error) end
  if r.md5 ~= sum then return nil, "server's md5 " .. tostring(r.md5) .. " differs from " .. sum end
  return string.format("uploaded %s as %s (%d bytes, md5 %s)", path, tostring(r.filename), size, sum)
end

function M.get(conn, name, dir)
  local ok, err = header(conn, {opt = "download", filename = name, filesize = json.null})
  if not ok then return nil, err end
  local r, rerr = conn:recv_msg({size_key = "", body = false})
  if not r then return nil, rerr end
  if r.ok ~= true then return nil, tostring(r.error) end
  if r.filename ~= name then
    conn:close() -- its bytes follow; nothing after them can be trusted
    return nil, "the server answered with " .. tostring(r.filename) .. ", not " .. name
  end
  local n, sum, stored = conn:recv_file(name, r.filesize,
    {dir = dir, hash = "md5", expect = r.md5, unique = true, progress = true})
  if not n then return nil, sum end
  return string.format("downloaded %s as %s (%d bytes, md5 %s)", name, stored, n, sum)
end

if ... == "upload_client" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
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
    result, rerr = M.put(conn, what)
  elseif cmd == "get" then
    result, rerr = M.get(conn, what, o.dir)
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
