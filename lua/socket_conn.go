package lua

import (
	"fmt"
	"net"
	"reflect"

	"github.com/wirelab/wirelab/engine"
	glua "github.com/yuin/gopher-lua"
)

// The conn class: a TCP, TLS or Unix connection, its state and its ends.

var connClass = &class{
	name:   "conn",
	goType: reflect.TypeFor[*engine.Conn](),
	// Connections, listeners and UDP sockets pass by reference: one task may
	// send while another receives, as on any Go net.Conn; close from anywhere.
	pass: passRef,
	doc:  "a TCP connection",
	tostring: func(v any) string {
		c := v.(*engine.Conn)
		return fmt.Sprintf("<conn %s -> %s %s>", addrString(c.LocalAddr()), addrString(c.RemoteAddr()), openClosed(c.Closed()))
	},
	methods: []fn{
		{"send", connSend, "c:send(data) -> n | nil, err -- write all of data"},
		{"sendline", connSendLine, "c:sendline(s) -> n | nil, err -- write s and \"\\n\""},
		{"recv", connRecv, "c:recv(max [, {timeout=s}]) -> data | nil, err -- between 1 and max bytes, whatever has arrived; nil, \"closed\" at end of stream"},
		{"recv_exact", connRecvExact, "c:recv_exact(n [, {timeout=s}]) -> data | nil, err, partial -- exactly n bytes"},
		{"recv_until", connRecvUntil, "c:recv_until(delim | {delim, ...} [, max | {keep=false, max=65536, timeout=s}]) -> data [, delim] | nil, err, partial -- the bytes before the first delimiter to arrive, which is consumed (and returned with keep=true); with a list, also the delimiter matched"},
		{"recvline", connRecvLine, "c:recvline([{keep=false, max=65536, timeout=s}]) -> line | nil, err, partial -- one line, without its \"\\n\" and a \"\\r\" before it (kept with keep=true)"},
		{"recv_all", connRecvAll, "c:recv_all([{max=16777216, timeout=s}]) -> data | nil, err, partial -- everything until the end of the stream; over max: nil, \"too long\""},
		{"sendafter", connSendAfter, "c:sendafter(delim, data [, {max=n, timeout=s}]) -> received | nil, err, partial -- wait for delim, then send data; returns the bytes received up to and with delim"},
		{"sendlineafter", connSendLineAfter, "c:sendlineafter(delim, line [, {max=n, timeout=s}]) -> received | nil, err, partial -- sendafter with line and \"\\n\""},
		{"unrecv", connUnrecv, "c:unrecv(data) -- put data back in front of what was received: the next receive of any kind gets it first"},
		{"send_frame", connSendFrame, "c:send_frame(data [, {header=fmt, timeout=s}]) -> n | nil, err -- a length header (default \"!I\") then data"},
		{"recv_frame", connRecvFrame, "c:recv_frame([{header=fmt, max=n, timeout=s}]) -> data | nil, err, partial -- one frame of send_frame"},
		{"send_msg", connSendMsg, "c:send_msg(header [, body [, {header=fmt, size_key=s, timeout=s}]]) -> n | nil, err -- struct-packed length, JSON header with total_size, body"},
		{"recv_msg", connRecvMsg, "c:recv_msg([{header=fmt, max=n, max_header=n, size_key=s, body=false, timeout=s}]) -> header, body | nil, err -- one message of send_msg"},
		{"send_file", connSendFile, "c:send_file(path [, {hash=algo, dir=d, size=n, head=s, progress=false, timeout=s}]) -> bytes, hexdigest | nil, err, sent -- stream a file to the peer, after head"},
		{"recv_file", connRecvFile, "c:recv_file(path, size [, {hash=algo, expect=hex, dir=d, overwrite=false, unique=false, progress=false, min_rate=1024, confirm=fn, max_store=bytes, timeout=s}]) -> bytes, hexdigest, name | nil, err -- stream size bytes into a file, kept only when complete (and confirm(hexdigest) is true); refused unread when it cannot fit"},
		{"settimeout", connSetTimeout, "c:settimeout(s) -- limit each later operation to s seconds (nil: none)"},
		{"peer", connPeer, "c:peer() -> host, port -- the peer's address"},
		{"local", connLocal, "c:local() -> host, port -- this end's address"},
		{"shutdown", connShutdown, "c:shutdown() -> true | nil, err -- stop sending; the peer reads end of stream, replies still arrive"},
		{"close", connClose, "c:close() -- close the connection"},
		{"closed", connClosed, "c:closed() -> bool -- whether close was called"},
		{"tls", connTLS, "c:tls() -> {version=, cipher=, fingerprint=, server_name=} | nil, err -- the TLS session: \"TLS 1.3\", the cipher suite, the peer certificate's \"sha256:hex\""},
		{"trace", connTrace, "c:trace(true | false | {to=path, format=\"text\", pcap=path}) -- dump this connection's sends, receives and events (FIN, RST, close), to stderr or appended to a file, as hexdump or text; pcap: into a pcapng file too"},
		{"mark", connMark, "c:mark(text) -> true | nil, err -- a comment on the next packet of this connection's capture (Wireshark shows it)"},
		{"interactive", connInteractive, "c:interactive([{crlf=true}]) -> reason -- hand the terminal to the connection: stdin lines go out (with crlf, each line end as \"\\r\\n\", as HTTP, SMTP and Redis want), what arrives is printed, until the peer closes (\"closed\"), stdin ends (\"eof\") or Ctrl-C (\"interrupted\")"},
	},
}

// checkConn returns argument n as a connection: a conn, or a process's
// stdin and stdout, which take the same methods.
func checkConn(L *glua.LState, n int) *engine.Conn {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		switch v := ud.Value.(type) {
		case *engine.Conn:
			return v
		case *engine.Process:
			return v.Conn()
		}
	}
	return check[*engine.Conn](L, n, "conn")
}

func connSetTimeout(L *glua.LState) int {
	checkConn(L, 1).SetTimeout(seconds(L, L.Get(2), "timeout"))
	return 0
}

func pushAddr(L *glua.LState, a net.Addr) int {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LString(ta.IP.String()))
	L.Push(glua.LNumber(ta.Port))
	return 2
}

func connPeer(L *glua.LState) int { return pushAddr(L, checkConn(L, 1).RemoteAddr()) }

func connLocal(L *glua.LState) int { return pushAddr(L, checkConn(L, 1).LocalAddr()) }

func connShutdown(L *glua.LState) int {
	if err := checkConn(L, 1).CloseWrite(); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LTrue)
	return 1
}

func connClose(L *glua.LState) int {
	checkConn(L, 1).Close()
	return 0
}

func connClosed(L *glua.LState) int {
	L.Push(glua.LBool(checkConn(L, 1).Closed()))
	return 1
}
