-- UDP echo: every datagram comes back to its sender; datagrams keep their boundaries, and one longer than the buffer is cut.
--
-- The documents' UDP server, answering every datagram instead of one.
-- recvfrom(buffer) returns one datagram per call, never two stuck
-- together; a datagram longer than the buffer loses its tail, and this
-- server says so.
local M = {}

M.defaults = {host = "127.0.0.1", port = 9000, buffer = 1024}
M.help = {
  host = "address to listen on",
  port = "port to listen on (0: any free port)",
  buffer = "bytes read per datagram, as recvfrom(1024) in the documents",
}

-- logger prints the lines sent on a channel in a task of its own, so that
-- a stdout nobody reads never stops the echo: when the channel is full,
-- lines are dropped and counted, and the count printed with the next line.
function M.logger()
  local lines, dropped = task.channel(100), 0
  task.spawn(function()
    for line in function() return lines:recv() end do print(line) end
  end)
  return function(line)
    if dropped > 0 then line = line .. " (" .. dropped .. " earlier lines dropped)" end
    if lines:send(line, 0) then dropped = 0 else dropped = dropped + 1 end
  end, function() lines:close() end
end

-- serve answers datagrams on u until it is closed.
function M.serve(u, o)
  local log, stop = M.logger()
  while true do
    local data, host, port, truncated = u:recvfrom(o.buffer)
    if not data then stop() return host end
    if truncated then
      log(string.format("truncated: a datagram from %s:%d was longer than the %d-byte buffer; kept %d bytes, the rest is lost",
        host, port, o.buffer, #data))
    end
    u:sendto(data, host, port)
  end
end

if ... == "udp_echo_server" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
if o.buffer < 1 or o.buffer > 65535 then
  io.stderr:write("--buffer must be from 1 to 65535\n")
  os.exit(2)
end
local u = assert(socket.udp(o.host, o.port))
print("listening on " .. o.host .. ":" .. u:port())
M.serve(u, o)
