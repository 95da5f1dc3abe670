-- Client of exec_broken_server: one recv(1024) per command, so the tail of a big answer arrives with the next command.
--
-- Reads commands line by line from stdin (a prompt shows only on a
-- terminal), sends each one's bytes, and prints what a single recv(1024)
-- returns, exactly as received. Try `seq 1 1000`, then `echo hi`.
local M = {}

M.defaults = {host = "127.0.0.1", port = 8080, encoding = "utf-8"}
M.help = {
  host = "server address",
  port = "server port",
  encoding = "encoding of the server's answers (gbk for a Windows server)",
}

-- ask sends a command and returns what one recv(1024) brings back: the lesson.
function M.ask(conn, cmd)
  local ok, err = conn:send(cmd)
  if not ok then return nil, err end
  return conn:recv(1024)
end

if ... == "exec_broken_client" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
local conn, err = socket.connect(o.host, o.port)
if not conn then
  io.stderr:write("cannot connect to ", o.host, ":", o.port, ": ", err, "\n")
  os.exit(1)
end
for cmd in term.lines(">>: ") do
  cmd = cmd:match("^%s*(.-)%s*$")
  if cmd == "quit" or cmd == "exit" then break end
  if cmd ~= "" then
    local data, aerr = M.ask(conn, cmd)
    if not data then
      io.stderr:write("server: ", aerr, "\n")
      os.exit(1)
    end
    if o.encoding ~= "utf-8" then data = assert(text.decode(data, o.encoding)) end
    io.write(data)
  end
end
conn:close()
