-- Sticky packets, shown then fixed: a big answer spills into the next one on the broken server, never on the fixed one.
--
-- Starts exec_broken_server on a free port, asks it for `seq 1 400` (1492
-- bytes) and then `echo hello`, reading each answer with one recv(1024) as
-- the documents' client does: the second answer begins with the tail of the
-- first. Then the same against exec_fixed_server, whose answers carry their
-- length: both come back whole.
local broken_server = require("exec_broken_server")
local broken_client = require("exec_broken_client")
local fixed_server = require("exec_fixed_server")
local fixed_client = require("exec_fixed_client")

local big, small = "seq 1 400", "echo hello"

-- show prints an answer, its middle elided when it is long.
local function show(title, answer)
  print(string.format("--- answer to `%s`: %d bytes", title, #answer))
  local lines = {}
  for line in (answer .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  if answer:sub(-1) == "\n" then lines[#lines] = nil end
  for i, line in ipairs(lines) do
    if #lines <= 8 or i <= 3 or i > #lines - 3 then
      print("  " .. line)
    elseif i == 4 then
      print(string.format("  ... (%d more lines)", #lines - 6))
    end
  end
end

local opts = {host = "127.0.0.1", port = 0, timeout = 10, max_output = 1024 * 1024}
print("=== the broken server: answers have no length, the client does one recv(1024)")
local srv = assert(broken_server.serve(opts))
local conn = assert(socket.connect("127.0.0.1", srv:port()))
show(big, assert(broken_client.ask(conn, big)))
task.sleep(0.1) -- let the rest of the big answer arrive, as a person typing would
local second = assert(broken_client.ask(conn, small))
show(small, second)
if second:sub(1, 5) ~= "hello" then
  print("^^^ that was the tail of `" .. big .. "`, not the answer to `" .. small .. "`: the packets stuck")
end
conn:close()
srv:close()

print()
print("=== the fixed server: struct.pack('i', n) first, then exactly n bytes")
srv = assert(fixed_server.serve(opts))
conn = assert(socket.connect("127.0.0.1", srv:port()))
local o = {json = false, framed = false, max = 1024 * 1024}
local first = assert(fixed_client.ask(conn, big, o))
show(big, first)
show(small, assert(fixed_client.ask(conn, small, o)))
print("each answer whole: the length header says where one ends")
conn:close()
srv:close()
