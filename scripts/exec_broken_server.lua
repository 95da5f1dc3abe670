-- Remote command runner, broken on purpose: answers carry no length, so a big answer sticks to the next one.
--
-- The documents' first server: it receives a command with recv(1024), runs it
-- through the shell and sends stdout then stderr back as raw bytes. Nothing
-- tells the client where one answer ends, and its single recv(1024) leaves
-- the rest of a big answer in the socket, to be read as the next one.
-- exec_fixed_server is the cure. Like the original, an empty answer sends
-- nothing at all, and the client then waits. Like exec_fixed_server, it
-- refuses HTTP requests, warns when it listens beyond this machine and runs
-- at most --max-running commands at once, the rest waiting in line.
local M = {}
local fixed = require("exec_fixed_server")

M.defaults = {host = "127.0.0.1", port = 8080, timeout = 30, max_output = 16 * 1024 * 1024,
  max_running = exec.default_max_running}
M.help = {
  host = "address to listen on",
  port = "port to listen on (0: any free port)",
  timeout = "seconds a command may run before it is killed with its children",
  max_output = "bytes of stdout (and of stderr) kept per command",
  max_running = "commands run at once; the others wait in line, first come first served",
}

-- run runs one command as the documents do: through the shell, stdout then stderr.
function M.run(cmd, o)
  local r, err = exec.run(cmd, {timeout = o.timeout, max_output = o.max_output, limiter = o.limiter})
  if not r then return "wirelab: " .. err .. "\n" end
  return r.stdout .. r.stderr
end

function M.serve(o)
  local run = {timeout = o.timeout, max_output = o.max_output, max_running = o.max_running}
  run.limiter = o.limiter or assert(fixed.limiter(run))
  return socket.serve(o.host, o.port, function(conn)
    while true do
      local cmd = conn:recv(1024)
      if not cmd then return end            -- the client went away
      if fixed.looks_http(cmd) then return conn:send(fixed.http_refusal) end
      if not conn:send(M.run(cmd, run)) then return end
    end
  end)
end

if ... == "exec_broken_server" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
local limiter, bad = fixed.limiter(o)
if not limiter then
  io.stderr:write(bad, "\n")
  os.exit(2)
end
o.limiter = limiter
if not fixed.loopback(o.host) then
  io.stderr:write("warning: listening on ", o.host, ": anyone who can reach it runs commands as this user\n")
end
local srv = assert(M.serve(o))
print("listening on " .. o.host .. ":" .. srv:port())
