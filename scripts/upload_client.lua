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

function M.put(conn, path)
  local sum, size = hash.file("md5", path)
  if not sum then return nil, size end
  local name = path:match("[^/]+$")
  local ok, err = header(conn, {opt = "upload", filename = name, filesize = size, md5 = sum})
  if not ok then return nil, err end
  local n, serr = conn:send_file(path, {size = size, progress = true})
  if not n then return nil, serr end
  local r, rerr = conn:recv_msg({size_key = "", body = false})
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
