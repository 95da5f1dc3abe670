package lua

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/netproto"
)

func init() {
	register(&module{
		name: "socket",
		doc:  "TCP and UDP sockets: connect, listen, serve, udp",
		funcs: []fn{
			{"connect", socketConnect, "socket.connect(host, port [, {timeout=s, tls=true|{verify=, sni=, ca=, fingerprint=}}]) -> conn | nil, err -- open a TCP connection (TLS with tls; host \"unix:PATH\": a Unix socket)"},
			{"listen", socketListen, "socket.listen(host, port [, {backlog=n, tls={cert=, key=}, raise=false}]) -> listener -- listen for TCP connections; port 0 picks a free one (host \"unix:PATH\": a Unix socket). A port in use raises \"listen HOST:PORT: address in use\"; with raise=false it returns nil, err instead"},
			{"trace", socketTrace, "socket.trace(true | false | {to=path}) -- hexdump every send and receive of the connections made from now on, to stderr or appended to a file"},
			{"clean_partial", socketCleanPartial, "socket.clean_partial(dir) -> n | nil, err -- remove the hidden partial files that recv_file left in dir when its process was killed mid-transfer"},
			{"serve", socketServe, "socket.serve(host, port, handler [, {max_conns=n, idle_timeout=s, grace=s, backlog=n, max_depth=n, tls={cert=, key=}, raise=false}]) -> server -- run handler(conn) for every connection, each in its own task; a failed bind raises, as listen (raise=false: nil, err)"},
			{"udp", socketUDP, "socket.udp([host, port] [, {raise=false}]) -> udp -- a UDP socket, bound to host:port when given; a failed bind raises \"udp HOST:PORT: address in use\" (raise=false: nil, err)"},
		},
	})
}

// lstring turns bytes that nothing else references into a Lua string
// without copying them.
func lstring(b []byte) glua.LString {
	if len(b) == 0 {
		return ""
	}
	return glua.LString(unsafe.String(&b[0], len(b)))
}

// sbytes views a Lua string's bytes for a write that does not keep them.
func sbytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func checkPort(L *glua.LState, n int) int {
	p := L.CheckInt(n)
	if p < 0 || p > 65535 {
		L.ArgError(n, fmt.Sprintf("port %d out of range 0-65535", p))
	}
	return p
}

func socketConnect(L *glua.LState) int {
	host, port, n := addrArgs(L, "")
	opts := optTable(L, n, "timeout", "tls")
	c, err := engine.DialAny(ctxOf(L), host, port, seconds(L, optField(opts, "timeout"), "timeout"), clientTLS(L, n, opts))
	if err != nil {
		return fail(L, err)
	}
	stateOf(L).rt.traceNew(c)
	L.Push(newObject(L, c))
	return 1
}

// optHost reads a host argument; servers bind loopback unless told.
func optHost(L *glua.LState, n int) string {
	if L.Get(n) == glua.LNil {
		return "127.0.0.1"
	}
	return L.CheckString(n)
}

func socketListen(L *glua.LState) int {
	host, port, n := addrArgs(L, "127.0.0.1")
	opts := optTable(L, n, "backlog", "tls", "raise")
	ln, err := listenOn(L, host, port, optInt(L, opts, "backlog", 0), serverTLS(L, n, "listen", opts))
	if err != nil {
		return bindFail(L, opts, err)
	}
	L.Push(newObject(L, ln))
	return 1
}

func socketUDP(L *glua.LState) int {
	host, port := "", 0
	var opts *glua.LTable
	if L.GetTop() >= 1 {
		if _, ok := L.Get(1).(*glua.LTable); ok {
			opts = optTable(L, 1, "raise")
		} else {
			host, port = optHost(L, 1), checkPort(L, 2)
			opts = optTable(L, 3, "raise")
		}
	}
	u, err := engine.ListenUDP(ctxOf(L), host, port)
	if err != nil {
		return bindFail(L, opts, err)
	}
	L.Push(newObject(L, u))
	return 1
}

// bindFail ends a socket.listen, socket.serve or socket.udp whose bind
// failed. It raises "listen 127.0.0.1:9000: address in use": a script
// that goes on without its server only fails later, further from the
// cause, or ends with status 0 having served nothing. {raise = false}
// asks for nil, err instead (err the short reason, "address in use"), as
// pcall does for the raised message.
func bindFail(L *glua.LState, opts *glua.LTable, err error) int {
	if optBool(L, opts, "raise", true) {
		L.RaiseError("%s", err.Error())
	}
	return fail(L, err)
}

func addrString(a net.Addr) string {
	if a == nil {
		return "?"
	}
	return a.String()
}

func openClosed(closed bool) string {
	if closed {
		return "closed"
	}
	return "open"
}

var connClass = &class{
	name: "conn",
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
		{"recv_file", connRecvFile, "c:recv_file(path, size [, {hash=algo, expect=hex, dir=d, overwrite=false, unique=false, progress=false, min_rate=1024, confirm=fn, timeout=s}]) -> bytes, hexdigest, name | nil, err -- stream size bytes into a file, kept only when complete (and confirm(hexdigest) is true)"},
		{"settimeout", connSetTimeout, "c:settimeout(s) -- limit each later operation to s seconds (nil: none)"},
		{"peer", connPeer, "c:peer() -> host, port -- the peer's address"},
		{"local", connLocal, "c:local() -> host, port -- this end's address"},
		{"shutdown", connShutdown, "c:shutdown() -- stop sending; the peer reads end of stream, replies still arrive"},
		{"close", connClose, "c:close() -- close the connection"},
		{"closed", connClosed, "c:closed() -> bool -- whether close was called"},
		{"tls", connTLS, "c:tls() -> {version=, cipher=, fingerprint=, server_name=} | nil, err -- the TLS session: \"TLS 1.3\", the cipher suite, the peer certificate's \"sha256:hex\""},
		{"trace", connTrace, "c:trace(true | false | {to=path}) -- hexdump this connection's sends and receives, to stderr or appended to a file"},
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

func connSend(L *glua.LState) int {
	c := checkConn(L, 1)
	if data, ok := L.Get(2).(glua.LString); ok {
		n, err := c.Send(ctxOf(L), sbytes(string(data)))
		if err != nil {
			return fail(L, err)
		}
		L.Push(glua.LNumber(n))
		return 1
	}
	parts, size := payload(L, 2)
	if err := c.SendParts(ctxOf(L), nil, parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

func connRecv(L *glua.LState) int {
	c, max, opts := checkConn(L, 1), L.CheckInt(2), optTable(L, 3, "timeout")
	if max < 1 {
		L.ArgError(2, "max must be at least 1")
	}
	b, err := c.Recv(opContext(L, opts), max)
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(b))
	return 1
}

func connRecvExact(L *glua.LState) int {
	c, n, opts := checkConn(L, 1), L.CheckInt(2), optTable(L, 3, "timeout")
	if n < 0 {
		L.ArgError(2, "negative length")
	}
	b, err := c.RecvExact(opContext(L, opts), n)
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	return 1
}

func connSendFrame(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 3, "header", "timeout")
	h := lengthFormat(L, optString(L, opts, "header", "!I"))
	ctx := opContext(L, opts)
	if data, ok := L.Get(2).(glua.LString); ok {
		if err := c.SendFrame(ctx, h, sbytes(string(data))); err != nil {
			return fail(L, err)
		}
		L.Push(glua.LNumber(len(data)))
		return 1
	}
	parts, size := payload(L, 2)
	head, err := netproto.AppendLength(nil, h, int(size))
	if err != nil {
		return fail(L, err)
	}
	if err := c.SendParts(ctx, head, parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

func connRecvFrame(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2, "header", "max", "timeout")
	h := lengthFormat(L, optString(L, opts, "header", "!I"))
	b, err := c.RecvFrame(opContext(L, opts), h, optInt(L, opts, "max", netproto.DefaultMaxFrame))
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	return 1
}

// msgFormat reads the options of send_msg and recv_msg.
func msgFormat(L *glua.LState, opts *glua.LTable) *netproto.Msg {
	return &netproto.Msg{
		Length:    lengthFormat(L, optString(L, opts, "header", "i")),
		SizeKey:   optString(L, opts, "size_key", netproto.SizeKey),
		MaxHeader: optInt(L, opts, "max_header", netproto.DefaultMaxHeader),
		MaxBody:   optInt(L, opts, "max", netproto.DefaultMaxFrame),
	}
}

func connSendMsg(L *glua.LState) int {
	c, hdr, opts := checkConn(L, 1), L.CheckTable(2), optTable(L, 4, "header", "size_key", "timeout")
	var parts []engine.Part
	var size int64
	if L.Get(3) != glua.LNil {
		parts, size = payload(L, 3)
	}
	m := msgFormat(L, opts)
	var extra map[string]any
	// size_key = "" sends the header as given, as the upload protocol's
	// replies do.
	if m.SizeKey != "" {
		extra = map[string]any{m.SizeKey: float64(size)}
	}
	h, err := encodeJSON(hdr, jsonPython, extra)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	head, err := netproto.AppendLength(nil, m.Length, len(h))
	if err != nil {
		return fail(L, err)
	}
	if err := c.SendParts(opContext(L, opts), append(head, h...), parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

func connRecvMsg(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2, "header", "max", "max_header", "size_key", "body", "timeout")
	m := msgFormat(L, opts)
	withBody := optBool(L, opts, "body", true)
	raw, _, body, err := c.RecvMsg(opContext(L, opts), m, withBody)
	if err != nil {
		if withBody && body != nil {
			return failPartial(L, err, body)
		}
		return fail(L, err)
	}
	hdr, err := decodeJSON(L, raw)
	if err != nil {
		return fail(L, err)
	}
	L.Push(hdr)
	if !withBody {
		return 1
	}
	L.Push(lstring(body))
	return 2
}

// fileOptions reads the options of send_file and recv_file.
func fileOptions(L *glua.LState, opts *glua.LTable) engine.FileOptions {
	o := engine.FileOptions{
		Dir:       optString(L, opts, "dir", ""),
		Hash:      optString(L, opts, "hash", ""),
		Size:      optInt(L, opts, "size", -1),
		Expect:    optString(L, opts, "expect", ""),
		Overwrite: optBool(L, opts, "overwrite", false),
		Unique:    optBool(L, opts, "unique", false),
	}
	if _, err := engine.NewHash(o.Hash); err != nil {
		L.RaiseError("%v", err)
	}
	if o.Expect != "" && o.Hash == "" {
		L.RaiseError("option expect needs option hash")
	}
	return o
}

func pushTransfer(L *glua.LState, r engine.FileResult, withName bool) int {
	L.Push(glua.LNumber(r.N))
	if r.Sum == "" {
		L.Push(glua.LNil)
	} else {
		L.Push(glua.LString(r.Sum))
	}
	if !withName {
		return 2
	}
	L.Push(glua.LString(r.Name))
	return 3
}

func connSendFile(L *glua.LState) int {
	c, path, opts := checkConn(L, 1), L.CheckString(2), optTable(L, 3, "hash", "dir", "size", "progress", "head", "timeout")
	o := fileOptions(L, opts)
	if optBool(L, opts, "progress", false) {
		if size, err := fileSize(o, path); err == nil {
			o.Progress = newProgress(L, "send", size)
		}
	}
	o.Head = []byte(optString(L, opts, "head", ""))
	r, err := c.SendFile(opContext(L, opts), path, o)
	if err != nil {
		fail(L, err)
		L.Push(glua.LNumber(r.Sent)) // 0: the connection is as it was
		return 3
	}
	return pushTransfer(L, r, false)
}

// fileSize is the size send_file will send, for its progress bar.
func fileSize(o engine.FileOptions, path string) (int64, error) {
	if o.Size >= 0 {
		return o.Size, nil
	}
	if o.Dir != "" {
		path = filepath.Join(o.Dir, path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// DefaultMinRate is recv_file's default min_rate: 1 KiB a second.
const DefaultMinRate = 1024

func connRecvFile(L *glua.LState) int {
	c, path, size, opts := checkConn(L, 1), L.CheckString(2), L.CheckNumber(3), optTable(L, 4, "hash", "expect", "dir", "overwrite", "unique", "progress", "min_rate", "confirm", "timeout")
	if size < 0 || float64(size) != float64(int64(size)) {
		L.ArgError(3, "size must be a non-negative integer")
	}
	o := fileOptions(L, opts)
	if optBool(L, opts, "progress", false) {
		o.Progress = newProgress(L, "recv", int64(size))
	}
	o.MinRate = optInt(L, opts, "min_rate", DefaultMinRate)
	o.Confirm = confirmOption(L, opts)
	r, err := c.RecvFile(opContext(L, opts), path, int64(size), o)
	if err != nil {
		return fail(L, err)
	}
	return pushTransfer(L, r, true)
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

func connPeer(L *glua.LState) int  { return pushAddr(L, checkConn(L, 1).RemoteAddr()) }
func connLocal(L *glua.LState) int { return pushAddr(L, checkConn(L, 1).LocalAddr()) }

func connShutdown(L *glua.LState) int {
	checkConn(L, 1).CloseWrite()
	return 0
}

func connClose(L *glua.LState) int {
	checkConn(L, 1).Close()
	return 0
}

func connClosed(L *glua.LState) int {
	L.Push(glua.LBool(checkConn(L, 1).Closed()))
	return 1
}

var listenerClass = &class{
	name: "listener",
	doc:  "a TCP listener",
	tostring: func(v any) string {
		l := v.(*engine.Listener)
		return fmt.Sprintf("<listener %s %s>", l.Addr(), openClosed(l.Closed()))
	},
	methods: []fn{
		{"accept", listenerAccept, "ln:accept() -> conn | nil, err -- wait for the next connection"},
		{"port", listenerPort, "ln:port() -> n -- the port listened on"},
		{"close", listenerClose, "ln:close() -- stop listening"},
	},
}

func checkListener(L *glua.LState) *engine.Listener {
	return check[*engine.Listener](L, 1, "listener")
}

func listenerAccept(L *glua.LState) int {
	c, err := checkListener(L).Accept(ctxOf(L))
	if err != nil {
		return fail(L, err)
	}
	stateOf(L).rt.traceNew(c)
	L.Push(newObject(L, c))
	return 1
}

func listenerPort(L *glua.LState) int {
	L.Push(glua.LNumber(checkListener(L).Port()))
	return 1
}

func listenerClose(L *glua.LState) int {
	checkListener(L).Close()
	return 0
}

var udpClass = &class{
	name: "udp",
	doc:  "a UDP socket",
	tostring: func(v any) string {
		u := v.(*engine.UDP)
		return fmt.Sprintf("<udp %s %s>", u.LocalAddr(), openClosed(u.Closed()))
	},
	methods: []fn{
		{"sendto", udpSendTo, "u:sendto(data, host, port) -> n | nil, err -- send one datagram (at most 65507 bytes)"},
		{"recvfrom", udpRecvFrom, "u:recvfrom(max) -> data, host, port, truncated | nil, err -- one datagram, cut to max bytes"},
		{"settimeout", udpSetTimeout, "u:settimeout(s) -- limit each later recvfrom to s seconds (nil: none)"},
		{"port", udpPort, "u:port() -> n -- the local port"},
		{"close", udpClose, "u:close() -- close the socket"},
	},
}

func checkUDP(L *glua.LState) *engine.UDP { return check[*engine.UDP](L, 1, "udp") }

func udpSendTo(L *glua.LState) int {
	u, data, host, port := checkUDP(L), L.CheckString(2), L.CheckString(3), checkPort(L, 4)
	n, err := u.SendTo(ctxOf(L), sbytes(data), host, port)
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(n))
	return 1
}

func udpRecvFrom(L *glua.LState) int {
	u, max := checkUDP(L), L.OptInt(2, engine.MaxDatagram)
	if max < 1 {
		L.ArgError(2, "max must be at least 1")
	}
	data, from, truncated, err := u.RecvFrom(ctxOf(L), max)
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(data))
	L.Push(glua.LString(from.Addr().String()))
	L.Push(glua.LNumber(from.Port()))
	L.Push(glua.LBool(truncated))
	return 4
}

func udpSetTimeout(L *glua.LState) int {
	checkUDP(L).SetTimeout(seconds(L, L.Get(2), "timeout"))
	return 0
}

func udpPort(L *glua.LState) int {
	L.Push(glua.LNumber(checkUDP(L).Port()))
	return 1
}

func udpClose(L *glua.LState) int {
	checkUDP(L).Close()
	return 0
}

func socketCleanPartial(L *glua.LState) int {
	n, err := engine.CleanPartial(L.CheckString(1))
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(n))
	return 1
}
