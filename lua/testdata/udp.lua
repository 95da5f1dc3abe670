-- udp: datagrams keep their boundaries and are cut, never merged.
local srv = assert(socket.udp("127.0.0.1", 0))
local cli = assert(socket.udp())
assert(cli:port() > 0)
assert(cli:sendto("hello", "127.0.0.1", srv:port()))
assert(cli:sendto("world", "127.0.0.1", srv:port()))
local d1, host, port, trunc = srv:recvfrom(1024)
assert(d1 == "hello" and host == "127.0.0.1" and port == cli:port() and trunc == false)
local d2 = srv:recvfrom(1024)
assert(d2 == "world", "two datagrams, two reads: never sticky")

-- empty datagrams exist in UDP
assert(cli:sendto("", "127.0.0.1", srv:port()))
local d0 = srv:recvfrom(10)
assert(d0 == "")

-- a datagram longer than the buffer is cut and the rest is lost
assert(cli:sendto(string.rep("x", 3000), "127.0.0.1", srv:port()))
assert(cli:sendto("next", "127.0.0.1", srv:port()))
local cut, _, _, truncated = srv:recvfrom(1024)
assert(#cut == 1024 and truncated == true)
assert(srv:recvfrom(1024) == "next", "the cut datagram's tail is gone")

-- the largest datagram goes, one byte more is refused before sending
assert(cli:sendto(string.rep("y", 65507), "127.0.0.1", srv:port()))
local max = srv:recvfrom(70000)
assert(#max == 65507)
local none, err = cli:sendto(string.rep("y", 65508), "127.0.0.1", srv:port())
assert(none == nil and err == "datagram too large", err)

-- echo back to the sender
assert(srv:sendto("pong", host, port))
assert(cli:recvfrom(100) == "pong")

srv:settimeout(0.05)
local t, te = srv:recvfrom(10)
assert(t == nil and te == "timeout")
srv:close()
cli:close()
print("ok")
