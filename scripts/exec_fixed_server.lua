-- Remote command runner, fixed: every answer starts with its length (struct.pack('i', n)), or with a JSON header (--json).
--
-- The documents' cure for sticky packets. Default wire format, byte for
-- byte as in the documents: the request is the command's bytes; the answer
-- is struct.pack('i', n), then stdout and stderr, n bytes in all. With
-- --json the answer is struct.pack('i', len(h)), h a JSON object holding
-- total_size (and the exit code), then the bytes. With --framed requests
-- carry the same 4-byte length, so commands sent back to back never merge.
-- Unlike the documents' server this one serves many clients at once, bounds
-- every command, and shrugs off clients that vanish mid-command.
local M = {}

M.defaults = {host = "127.0.0.1", port = 8080, json = false, framed = false,
  timeout = 30, max_output = 16 * 1024 * 1024}
M.help = {
  host = "address to listen on",
  port = "port to listen on (0: any free port)",
  json = "answer with a JSON header carrying total_size (both sides must agree)",
  framed = "requests are framed too, struct.pack('i', n) first (both sides must agree)",
  timeout = "seconds a command may run before it is killed with its children",
  max_output = "bytes of stdout (and of stderr) kept per command",
}

-- run runs one command through the shell and returns stdout..stderr, the
-- exit code and whether output was cut. A cut answer never passes for a
-- whole one: plain answers end with a notice line, JSON headers say
-- "truncated": true.
function M.run(cmd, o)
  local r, err = exec.run(cmd, {timeout = o.timeout, max_output = o.max_output})
  if not r then return "wirelab: " .. err .. "\n", -1 end
  local out = r.stdout .. r.stderr
  if r.timed_out then out = out .. "wirelab: killed after " .. o.timeout .. " s\n" end
  local cut = r.truncated or r.held
  if cut and not o.json then
    if r.truncated then
      out = out .. "\nwirelab: output cut at " .. o.max_output .. " bytes per stream (--max-output)\n"
    else
      out = out .. "\nwirelab: output cut: a process that left the command still held it\n"
    end
  end
  return out, r.code, cut
end

-- request reads one command: raw bytes as the documents send them, or a frame.
function M.request(conn, o)
  if o.framed then return conn:recv_frame({header = "i", max = 1024 * 1024}) end
  return conn:recv(64 * 1024)
end

-- answer sends one answer: a 4-byte length or a JSON header, then the bytes.
function M.answer(conn, o, out, code, truncated)
  if o.json then
    -- total_size is added by send_msg
    return conn:send_msg({code = code, truncated = truncated or nil}, out)
  end
  return conn:send_frame(out, {header = "i"})
end

function M.serve(o)
  return socket.serve(o.host, o.port, function(conn)
    while true do
      local cmd, err = M.request(conn, o)
      if not cmd then
        if err ~= "closed" then io.stderr:write("client ", tostring(conn:peer()), ": ", err, "\n") end
        return
      end
      if not M.answer(conn, o, M.run(cmd, o)) then return end
    end
  end)
end

if ... == "exec_fixed_server" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
local srv = assert(M.serve(o))
print("listening on " .. o.host .. ":" .. srv:port())
