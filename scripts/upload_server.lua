-- File upload and download: struct.pack('i', len(h)), a JSON header {opt, filename, filesize}, then the file's bytes.
--
-- The documents' upload protocol, byte for byte: a Python client that
-- sends exactly struct.pack('i', len(h)) + h + the bytes is served, and
-- gets no reply, as in the documents. A client that adds "md5" gets it
-- checked and an answer of the same shape, {"ok", "md5", "error",
-- "filename"}. wirelab's own client sends "md5": "after", hashing as it
-- sends: the server answers {"ok", "md5"} once the bytes are on disk, the
-- client's {"opt": "confirm", "md5"} follows, and the file is kept (and
-- the same answer given) only if the two digests agree. A client that
-- names a faster digest, "hash": "blake3" (or "sha256"), gets the same
-- exchange in it, each message naming the algorithm and holding the
-- digest under its name, {"hash": "blake3", "blake3": SUM}, so that a
-- digest is never checked against another algorithm's; a name the server
-- does not know gets md5, named as such. "opt": "download" (empty in the
-- documents) answers with the same header shape holding filesize and the
-- digest (md5, or the one the request names), then the bytes.
--
-- File names from the network are plain names or nothing: no "/", "\",
-- ".", "..", no symlink out of --dir, no control or format characters, and
-- nothing a Windows peer could not store (CON, NUL.txt, a trailing dot).
-- A file that exists is never overwritten: the new one is stored as
-- NAME.1, NAME.2, ... (the first free), and the reply says which. Bytes
-- land in a partial file under --dir/.wirelab-partial, which no upload
-- name can reach, that becomes NAME only when all of them arrived (and the
-- md5 matched), so a client that disconnects halfway leaves nothing behind,
-- and cleaning partial files never removes a stored one. A size that does
-- not fit the disk or --max-store is refused before any byte is written,
-- and a client that does not confirm within --confirm-timeout seconds
-- loses its upload at once. Every name in the log is quoted (text.quote):
-- one event, one line.
local M = {}

M.defaults = {host = "127.0.0.1", port = 9090, dir = ".", max_size = 1024 * 1024 * 1024,
  confirm_timeout = 10, max_store = 0}
M.help = {
  host = "address to listen on",
  port = "port to listen on (0: any free port)",
  dir = "directory to store uploads in and serve downloads from",
  max_size = "largest upload accepted, in bytes",
  confirm_timeout = "seconds a client has to confirm an upload's digest once its bytes are on disk",
  max_store = "most bytes --dir may hold, uploads under way included (0: no limit)",
}

-- reply answers with the request's header shape: struct.pack('i', len(h)) + h.
local function reply(conn, h)
  return conn:send_msg(h, nil, {size_key = ""})
end

-- public words an error for the client: the server's paths and system
-- details stay in its own log.
local shown = {["bad file name"] = true, ["checksum mismatch"] = true, ["file exists"] = true,
  ["too slow"] = true, ["timeout"] = true, ["bad filesize"] = true}
function M.public(err, o)
  if shown[err] or err:find("^file too large") or err:find("^no confirmation") then return err end
  if err:find("no such file or directory", 1, true) then return "no such file" end
  if err:find("not a regular file", 1, true) then return "not a regular file" end
  -- The rule a name broke, "bad file name (reserved on Windows)": engine's
  -- words, never the name.
  if err:find("^bad file name") then return err end
  if err == "not enough space" then return "not enough space on the server" end
  if err == "store full" and o then return "store full (limit " .. o.max_store .. " bytes)" end
  return "server error"
end

-- q quotes a name (or any text a peer chose) for the log, on one line.
local q = text.quote

-- oneline is q without the quotes, for errors that may carry a peer's
-- bytes (a JSON error quotes the character it choked on).
local function oneline(s)
  return q(tostring(s)):sub(2, -2)
end

-- checksize refuses a filesize that is not a whole number from 0 to max.
local function checksize(n, max)
  if type(n) ~= "number" or n ~= math.floor(n) or n < 0 then return "bad filesize" end
  if n > max then return "file too large (limit " .. max .. " bytes)" end
end

-- M.hashes are the digests a client may name with "hash"; md5 is the
-- documents' and every client's fallback.
M.hashes = {md5 = true, sha256 = true, blake3 = true}

-- digest is the algorithm for a request h and whether the replies name
-- it: the one h names when the server knows it, else md5 (as a server
-- older than "hash" would do); named when h has a "hash" key at all, so
-- that a client that asked for one learns which it got.
local function digest(h)
  if h.hash == nil then return "md5", false end
  if M.hashes[h.hash] then return h.hash, true end
  return "md5", true
end

-- answer adds the digest sum of algo to the reply t, under the
-- algorithm's name, and names the algorithm when named.
local function answer(t, algo, sum, named)
  t[algo] = sum
  if named then t.hash = algo end
  return t
end

-- confirmer returns recv_file's confirm for a client that sent "md5":
-- "after" (or "hash"): once the bytes are on disk, tell it their digest
-- and keep them only if its own, which follows as {"opt": "confirm",
-- ALGO: ...}, agrees. A confirmation must be in the same algorithm: one
-- that names another ("hash"; none means md5) is a mismatch.
-- The confirmation has its own limit, for the whole message: an upload is
-- on disk by then, and a client that goes quiet must not hold it for the
-- idle timeout.
local function confirmer(conn, limit, algo, named)
  return function(sum)
    local ok, err = reply(conn, answer({ok = true}, algo, sum, named))
    if not ok then return nil, err end
    local c, cerr = conn:recv_msg({size_key = "", body = false, timeout = limit})
    if cerr == "timeout" then return nil, ("no confirmation within %g s"):format(limit) end
    if not c then return nil, cerr end
    local theirs = c.hash
    if theirs == nil then theirs = "md5" end
    if c.opt ~= "confirm" or theirs ~= algo or type(c[algo]) ~= "string" or c[algo]:lower() ~= sum then
      return nil, "checksum mismatch"
    end
    return true
  end
end

function M.upload(conn, h, o)
  local md5 = type(h.md5) == "string" and h.md5 or nil
  local algo, named = digest(h)
  -- A digest given up front is the documents' md5; "after", or a "hash"
  -- alone, asks for the exchange once the bytes are on disk.
  local after = md5 == "after" or (h.hash ~= nil and md5 == nil)
  if not after then algo, named = "md5", false end
  local answers = md5 ~= nil or after
  local bad = checksize(h.filesize, o.max_size)
  if not bad and type(h.filename) ~= "string" then bad = "bad file name" end
  if bad then
    if answers then reply(conn, {ok = false, error = bad}) end
    return false -- the bytes that follow cannot be trusted: close
  end
  local n, sum, stored = conn:recv_file(h.filename, h.filesize, {dir = o.dir, hash = algo,
    expect = not after and md5 or nil, confirm = after and confirmer(conn, o.confirm_timeout, algo, named) or nil,
    unique = true, max_store = o.max_store})
  if not n then
    local err = sum
    io.stderr:write(("upload of %s failed: %s\n"):format(q(h.filename), oneline(err)))
    if answers and err ~= "closed" then reply(conn, {ok = false, error = M.public(err, o), filename = h.filename}) end
    return false
  end
  io.stderr:write(("stored %s (%d bytes, %s %s)\n"):format(q(stored), n, algo, sum))
  if answers then return reply(conn, answer({ok = true, filename = stored}, algo, sum, named)) end
  return true
end

function M.download(conn, h, o)
  local name = h.filename
  if type(name) ~= "string" then
    reply(conn, {ok = false, error = "bad file name", filesize = 0})
    return false
  end
  local algo, named = digest(h)
  local sum, size = hash.file(algo, name, {dir = o.dir})
  if not sum then
    io.stderr:write(("download of %s failed: %s\n"):format(q(name), oneline(size)))
    return reply(conn, {ok = false, error = M.public(size), filename = name, filesize = 0})
  end
  if not reply(conn, answer({ok = true, filename = name, filesize = size}, algo, sum, named)) then return false end
  return conn:send_file(name, {dir = o.dir, size = size})
end

function M.serve(o)
  for k, v in pairs(M.defaults) do -- a require'd serve({dir = ...}) gets the limits too
    if o[k] == nil then o[k] = v end
  end
  return socket.serve(o.host, o.port, function(conn)
    while true do
      local h, err = conn:recv_msg({size_key = "", body = false})
      if not h then
        if err ~= "closed" then
          io.stderr:write("client ", tostring(conn:peer()), ": ", oneline(err), "\n")
          reply(conn, {ok = false, error = err})
        end
        return
      end
      local ok
      if h.opt == "upload" then
        ok = M.upload(conn, h, o)
      elseif h.opt == "download" then
        ok = M.download(conn, h, o)
      else
        reply(conn, {ok = false, error = "unknown opt " .. tostring(h.opt)})
      end
      if not ok then return end
    end
  end)
end

if ... == "upload_server" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
if o.confirm_timeout <= 0 then
  io.stderr:write("--confirm-timeout must be more than 0 seconds\n")
  os.exit(2)
end
if o.max_store < 0 or o.max_store ~= math.floor(o.max_store) then
  io.stderr:write("--max-store must be a whole number of bytes (0: no limit)\n")
  os.exit(2)
end
local dir = io.open(o.dir)
if dir then
  dir:close()
else
  -- A store that does not exist yet is made, readable by this user only:
  -- uploads are not everyone's to read. Its parent must exist, and a path
  -- that exists but cannot be opened is an error, not "created".
  local made, merr
  if package.config:sub(1, 1) == "\\" then
    -- Windows: cmd.exe's mkdir, which makes missing parents too, so the
    -- parent is looked for first; the directory takes its parent's ACL.
    local parent = o.dir:match("^(.*[^/\\])[/\\]+[^/\\]+[/\\]*$") or "."
    local p = io.open(parent)
    if p then
      p:close()
      made, merr = exec.run({"cmd.exe", "/d", "/c", "mkdir", (o.dir:gsub("/", "\\"))})
      if made and made.code ~= 0 then made.stderr = ": " .. made.stderr:gsub("%s+$", "") end
    else
      made = {code = 1, stderr = ": No such file or directory"}
    end
  else
    made, merr = exec.run({"mkdir", "-m", "700", "--", o.dir})
  end
  if not made or made.code ~= 0 then
    local why = made and made.stderr:match(": ([^:\n]*)\n?$") or merr
    io.stderr:write("cannot create directory ", o.dir, ": ", tostring(why), "\n")
    os.exit(1)
  end
  io.stderr:write("created directory ", o.dir, "\n")
end
-- What a killed server left half-received goes; transfers under way stay.
-- Only .wirelab-partial is looked at: a stored file is never taken for one.
local cleaned = assert(socket.clean_partial(o.dir))
if cleaned > 0 then io.stderr:write("removed ", cleaned, " partial upload(s) left in ", o.dir, "\n") end
local srv = assert(M.serve(o))
print("listening on " .. o.host .. ":" .. srv:port())
