-- The Lua side of the echo benchmark (bench/echo.sh): a framed echo
-- server. It prints its port, and serves until stdin closes.
local srv = assert(socket.serve("127.0.0.1", 0, function(c)
  while true do
    local m = c:recv_frame()
    if not m then return end
    c:send_frame(m)
  end
end))
print(srv:port())
io.read("*a")
srv:close()
