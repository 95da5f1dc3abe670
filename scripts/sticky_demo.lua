-- Sticky packets, shown then fixed: a big answer spills into the next one on the broken server, never on the fixed one.
--
-- Starts exec_broken_server on a free port, asks it for `seq 1 400` (1492
-- bytes) and then `echo hello`, reading each answer with one recv(1024) as
-- the documents' client does: the second answer begins with the tail of the
-- first. Then the same against exec_fixed_server, whose answers carry their
-- length: both come back whole. Last, both pairs through a proxy that
-- splits the answers: the fixed client still reads them whole, the broken
-- one gets a piece.
local broken_server = require("exec_broken_server")
local broken_client = require("exec_broken_client")
local fixed_server = require("exec_fixed_server")
local fixed_client = require("exec_fixed_client")

-- On Windows the servers' shell is cmd.exe, which has no seq: a for /l
-- loop prints the same numbers, each line ending in \r\n (1892 bytes).
local windows = package.config:sub(1, 1) == "\\"
local big = windows and "for /l %i in (1,1,400) do @echo %i" or "seq 1 400"
local small = "echo hello"

-- show prints an answer, its middle elided when it is long.
local function show(title, answer)
  print(string.format("--- answer to `%s`: %d bytes", title, #answer))
  local lines = {}
  for line in (answer .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
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

-- Split packets: on loopback one send is nearly always one read, so the
-- pairs are run again through socket.proxy, which forwards every answer in
-- writes of at most 100 bytes, 50 ms apart, as a slow network would.
print()
print("=== through a proxy that splits every answer into 100-byte pieces, 50 ms apart")
local split = {slice = 100, slice_delay = 0.05, direction = "down"}
srv = assert(fixed_server.serve(opts))
local proxy = socket.proxy("127.0.0.1", 0, "127.0.0.1", srv:port(), split)
conn = assert(socket.connect("127.0.0.1", proxy:port()))
local again = assert(fixed_client.ask(conn, big, o))
print("the fixed pair:")
show(big, again)
print(again == first and "the same bytes: reading the header, then exactly n bytes, survives any split"
  or "!!! the fixed client's answer changed through the proxy")
conn:close()
proxy:close()
srv:close()

srv = assert(broken_server.serve(opts))
proxy = socket.proxy("127.0.0.1", 0, "127.0.0.1", srv:port(), split)
conn = assert(socket.connect("127.0.0.1", proxy:port()))
local piece = assert(broken_client.ask(conn, big))
print("the broken pair:")
show(big, piece)
if #piece < #first then
  print(string.format("^^^ one recv(1024) got %d of the %d bytes: the answer split", #piece, #first))
end
conn:close()
proxy:close()
srv:close()
