-- UDP echo client: each input line goes as one datagram; prints the reply and who sent it.
--
-- With --size N every datagram is N bytes (the line repeated), to see a
-- server's buffer cut it; over 65507 bytes UDP cannot carry it at all.
local M = {}

M.defaults = {host = "127.0.0.1", port = 9000, size = 0, timeout = 2}
M.help = {
  host = "server address",
  port = "server port",
  size = "send datagrams of exactly this many bytes (0: the line as typed)",
  timeout = "seconds to wait for each reply",
}

-- payload makes the datagram for one input line.
function M.payload(line, size)
  if size <= 0 then return line end
  if line == "" then line = "x" end
  return string.rep(line, math.ceil(size / #line)):sub(1, size)
end

if ... == "udp_echo_client" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
local u = assert(socket.udp())
u:settimeout(o.timeout)
for line in term.lines(">>: ") do
  local ok, err = u:sendto(M.payload(line, o.size), o.host, o.port)
  if not ok then
    io.stderr:write("sendto: ", err, "\n")
  else
    local data, host, port = u:recvfrom(65535)
    if not data then
      io.stderr:write("no reply: ", host, "\n")
    elseif o.size > 0 then
      print(string.format("%d bytes from ('%s', %d)", #data, host, port))
    else
      print(string.format("%s ('%s', %d)", data, host, port))
    end
  end
end
u:close()
