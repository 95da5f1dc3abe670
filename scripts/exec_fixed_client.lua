-- Client of exec_fixed_server: reads the length first, then exactly that many bytes, so answers never mix.
--
-- Reads commands line by line from stdin (a prompt shows only on a
-- terminal) and prints each answer whole, exactly as received. --json and
-- --framed must match the server's.
local M = {}

M.defaults = {host = "127.0.0.1", port = 8080, json = false, framed = false,
  encoding = "utf-8", max = 64 * 1024 * 1024, token = ""}
M.help = {
  host = "server address",
  port = "server port",
  json = "answers carry a JSON header (as the server's --json)",
  framed = "frame requests with struct.pack('i', n) (as the server's --framed)",
  encoding = "encoding of the server's answers (gbk for a Windows server; auto: this system's console code page, text.console_encoding())",
  max = "largest answer accepted, in bytes",
  token = "the server's --token, sent before the first command",
}

-- ask sends a command and reads its whole answer.
function M.ask(conn, cmd, o)
  local ok, err
  if o.framed then ok, err = conn:send_frame(cmd, {header = "i"}) else ok, err = conn:send(cmd) end
  if not ok then return nil, err end
  if o.json then
    local header, body = conn:recv_msg({max = o.max})
    if not header then return nil, body end
    if header.truncated then io.stderr:write("wirelab: the server cut this answer (its --max-output)\n") end
    return body
  end
  -- The documents' two steps: the 4-byte length, struct.unpack('i',
  -- conn.recv(4)), then exactly that many bytes. (conn:recv_frame({header =
  -- "i", max = o.max}) does both.)
  local header, herr = conn:recv_exact(4)
  if not header then return nil, herr end
  local n = struct.unpack("i", header)
  if n < 0 or n > o.max then return nil, "bad length " .. n end
  return conn:recv_exact(n)
end

if ... == "exec_fixed_client" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
-- auto: the answers are in the code page of this system's console, as
-- when client and server run on the same Windows machine.
if o.encoding == "auto" then o.encoding = text.console_encoding() end
local conn, err = socket.connect(o.host, o.port)
if not conn then
  io.stderr:write("cannot connect to ", o.host, ":", o.port, ": ", err, "\n")
  os.exit(1)
end
if o.token ~= "" then
  local answer, aerr = M.ask(conn, o.token, o)
  if answer ~= "wirelab: authenticated\n" then
    io.stderr:write("server: ", answer or aerr, answer and "" or "\n")
    os.exit(1)
  end
end
for cmd in term.lines(">>: ") do
  cmd = cmd:match("^%s*(.-)%s*$")
  if cmd == "quit" or cmd == "exit" then break end
  if cmd ~= "" then
    local data, aerr = M.ask(conn, cmd, o)
    if not data then
      io.stderr:write("server: ", aerr, "\n")
      os.exit(1)
    end
    if o.encoding ~= "utf-8" then data = assert(text.decode(data, o.encoding)) end
    io.write(data)
  end
end
conn:close()
