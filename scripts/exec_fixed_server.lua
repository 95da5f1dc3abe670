-- Remote command runner, fixed: every answer starts with its length (struct.pack('i', n)), or with a JSON header (--json).
--
-- The documents' cure for sticky packets. Default wire format, byte for
-- byte as in the documents: the request is the command's bytes; the answer
-- is struct.pack('i', n), then stdout and stderr, n bytes in all. With
-- --json the answer is struct.pack('i', len(h)), h a JSON object holding
-- total_size (and the exit code), then the bytes. With --framed requests
-- carry the same 4-byte length, so commands sent back to back never merge.
-- Unlike the documents' server this one serves many clients at once, bounds
-- every command, and shrugs off clients that vanish mid-command. It runs
-- anyone's commands, so it listens on 127.0.0.1 unless told otherwise (and
-- warns then), refuses requests that are HTTP (a web page could POST a
-- command to it), and with --token asks for a secret first: a client's
-- first request must be the token, answered "wirelab: authenticated".
-- At most --max-running commands run at once (exec.default_max_running,
-- four per core); the requests of other clients wait in line, in the order
-- they came, so a flood of clients queues instead of forking thousands.
local M = {}

M.defaults = {host = "127.0.0.1", port = 8080, json = false, framed = false,
  timeout = 30, max_output = 16 * 1024 * 1024, token = "", max_running = exec.default_max_running}
M.help = {
  host = "address to listen on",
  port = "port to listen on (0: any free port)",
  json = "answer with a JSON header carrying total_size (both sides must agree)",
  framed = "requests are framed too, struct.pack('i', n) first (both sides must agree)",
  timeout = "seconds a command may run before it is killed with its children",
  max_output = "bytes of stdout (and of stderr) kept per command",
  token = "a secret each client must send as its first request ('': none)",
  max_running = "commands run at once; the others wait in line, first come first served",
}

-- looks_http tells an HTTP request: a browser's POST can carry a command.
function M.looks_http(data)
  return data:find("^%u+ [^ ]+ HTTP/1%.[01]\r?\n") ~= nil
end

M.http_refusal = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
  .. "wirelab exec server: this port runs shell commands for wirelab clients, not HTTP.\n"

-- loopback tells a host that only this machine can reach. The address is
-- parsed: 127.example.com is a name, and may point anywhere.
function M.loopback(host)
  return socket.is_loopback(host)
end

-- limiter makes the line that the commands of every client wait in, from
-- o.max_running (--max-running), or returns nil and what is wrong with it.
function M.limiter(o)
  local n = o.max_running or exec.default_max_running
  if type(n) ~= "number" or n < 1 or n % 1 ~= 0 then
    return nil, "--max-running must be a whole number of commands, at least 1; got " .. tostring(n)
  end
  return exec.limiter(n)
end

-- run runs one command through the shell and returns its answer, stdout
-- then stderr, as a list of pieces for send_frame or send_msg, the exit
-- code and whether output was cut. The output stays out of Lua: past
-- 64 KiB a stream waits on disk (exec.run's spool), so clients that never
-- read their big answers cost the server no memory. A cut answer never
-- passes for a whole one: plain answers end with a notice line, JSON
-- headers say "truncated": true. With o.limiter the command waits its turn.
function M.run(cmd, o)
  local r, err = exec.run(cmd, {timeout = o.timeout, max_output = o.max_output, spool = true, limiter = o.limiter})
  if not r then return {"wirelab: " .. err .. "\n"}, -1 end
  local out = {r.stdout, r.stderr}
  if r.timed_out then out[#out + 1] = "wirelab: killed after " .. o.timeout .. " s\n" end
  local cut = r.truncated or r.held
  if cut and not o.json then
    if r.truncated then
      out[#out + 1] = "\nwirelab: output cut at " .. o.max_output .. " bytes per stream (--max-output)\n"
    else
      out[#out + 1] = "\nwirelab: output cut: a process that left the command still held it\n"
    end
  end
  return out, r.code, cut
end

-- free gives back the disk space of an answer's spooled pieces.
function M.free(out)
  for _, piece in ipairs(out) do
    if type(piece) == "userdata" then piece:close() end
  end
end

-- request reads one command: raw bytes as the documents send them, or a frame.
function M.request(conn, o)
  if o.framed then return conn:recv_frame({header = "i", max = 1024 * 1024}) end
  return conn:recv(64 * 1024)
end

-- size counts the bytes of an answer: a string, or a list of strings and
-- blobs.
local function size(out)
  if type(out) == "string" then return #out end
  local n = 0
  for _, piece in ipairs(out) do
    n = n + (type(piece) == "string" and #piece or piece:size())
  end
  return n
end

-- answer sends one answer: a 4-byte length or a JSON header, then the bytes.
function M.answer(conn, o, out, code, truncated)
  if o.json then
    -- total_size is added by send_msg
    return conn:send_msg({code = code, truncated = truncated or nil}, out)
  end
  -- The documents' two steps: conn.send(struct.pack('i', len(res))), then
  -- the bytes themselves. (conn:send_frame(out, {header = "i"}) does both.)
  local ok, err = conn:send(struct.pack("i", size(out)))
  if not ok then return nil, err end
  return conn:send(out)
end

-- authenticate checks a client's first request against the token.
function M.authenticate(conn, o, box, request)
  local source = conn:peer()
  if box:blocked(source) then
    box:fail(source)
    M.answer(conn, o, "wirelab: too many wrong tokens; try later\n", 1)
    return false
  end
  -- Equal digests, compared whole: no timing tells how much was right.
  if hash.sha256((request:gsub("%s+$", ""))) ~= hash.sha256(o.token) then
    box:fail(source)
    io.stderr:write("client ", source, ": wrong token\n")
    M.answer(conn, o, "wirelab: wrong token\n", 1)
    return false
  end
  return M.answer(conn, o, "wirelab: authenticated\n", 0)
end

-- withDefaults fills what o leaves out from M.defaults (serve is called
-- from other scripts and the prompt with only some options).
local function withDefaults(o)
  local full = {}
  for k, v in pairs(M.defaults) do full[k] = v end
  for k, v in pairs(o) do full[k] = v end
  return full
end

function M.serve(o)
  o = withDefaults(o)
  o.limiter = o.limiter or assert(M.limiter(o))
  local box = task.penalties("exec_fixed_server")
  return socket.serve(o.host, o.port, function(conn)
    local authenticated = o.token == ""
    while true do
      local cmd, err = M.request(conn, o)
      if not cmd then
        if err ~= "closed" then io.stderr:write("client ", tostring(conn:peer()), ": ", err, "\n") end
        return
      end
      if M.looks_http(cmd) then
        io.stderr:write("client ", tostring(conn:peer()), ": refused an HTTP request\n")
        conn:send(M.http_refusal)
        return
      end
      if not authenticated then
        if not M.authenticate(conn, o, box, cmd) then return end
        authenticated = true
      else
        local out, code, cut = M.run(cmd, o)
        local sent = M.answer(conn, o, out, code, cut)
        M.free(out)
        if not sent then return end
      end
    end
  end)
end

if ... == "exec_fixed_server" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
local limiter, bad = M.limiter(o)
if not limiter then
  io.stderr:write(bad, "\n")
  os.exit(2)
end
o.limiter = limiter
if not M.loopback(o.host) then
  io.stderr:write("warning: listening on ", o.host, ": anyone who can reach it runs commands as this user",
    o.token == "" and "; set --token" or "", "\n")
end
local srv = assert(M.serve(o))
print("listening on " .. o.host .. ":" .. srv:port())
