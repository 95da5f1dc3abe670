-- Login client: reads a user line and a password line (no echo on a terminal), sends user|password, prints the answer.
--
-- Asks again after "fail", until "success" or the end of input. It exits
-- 0 only when the login succeeded: a refusal ends it with exit status 1
-- and says so on stderr, so that a script calling it can tell.
local M = {}

M.defaults = {host = "127.0.0.1", port = 8899}
M.help = {host = "server address", port = "server port"}

-- login sends one attempt and returns the server's answer.
function M.login(conn, user, password)
  local ok, err = conn:send(user .. "|" .. password)
  if not ok then return nil, err end
  return conn:recv(1024)
end

if ... == "login_client" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
local conn, err = socket.connect(o.host, o.port)
if not conn then
  io.stderr:write("cannot connect to ", o.host, ":", o.port, ": ", err, "\n")
  os.exit(1)
end
local answer
for user in term.lines("user: ") do
  local password = term.readpass("password: ")
  if not password then break end
  local aerr
  answer, aerr = M.login(conn, user, password)
  if not answer then
    io.stderr:write("server: ", aerr, "\n")
    os.exit(1)
  end
  print(answer)
  if answer == "success" then break end
end
conn:close()
if answer ~= "success" then
  if answer then
    io.stderr:write("login refused: the server answered ", answer, "\n")
  else
    io.stderr:write("no login: the input ended before a user and a password\n")
  end
  os.exit(1)
end
