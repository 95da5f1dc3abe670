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
			{"listen", socketListen, "socket.listen(host, port [, {backlog=n, tls={cert=, key=}}]) -> listener | nil, err -- listen for TCP connections; port 0 picks a free one (host \"unix:PATH\": a Unix socket)"},
			{"trace", socketTrace, "socket.trace(true | false | {to=path}) -- hexdump every send and receive of the connections made from now on, to stderr or appended to a file"},
			{"clean_partial", socketCleanPartial, "socket.clean_partial(dir) -> n | nil, err -- remove the hidden partial files that recv_file left in dir when its process was killed mid-transfer"},
			{"serve", socketServe, "socket.serve(host, port, handler [, {max_conns=n, idle_timeout=s, grace=s, backlog=n, tls={cert=, key=}}]) -> server | nil, err -- run handler(conn) for every connection, each in its own task"},
			{"udp", socketUDP, "socket.udp([host, port]) -> udp | nil, err -- a UDP socket, bound to host:port when given"},
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
	opts := optTable(L, n)
	checkOptionKeys(L, n, "connect", opts, "timeout", "tls")
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
	opts := optTable(L, n)
	checkOptionKeys(L, n, "listen", opts, "backlog", "tls")
	ln, err := listenOn(L, host, port, optInt(L, opts, "backlog", 0), serverTLS(L, n, "listen", opts))
	if err != nil {
		return fail(L, err)
	}
	L.Push(newObject(L, ln))
	return 1
}

func socketUDP(L *glua.LState) int {
	host, port := "", 0
	if L.GetTop() >= 1 {
		host, port = optHost(L, 1), checkPort(L, 2)
	}
	u, err := engine.ListenUDP(ctxOf(L), host, port)
	if err != nil {
		return fail(L, err)
	}
	L.Push(newObject(L, u))
	return 1
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
		{"recv", connRecv, "c:recv(max) -> data | nil, err -- between 1 and max bytes, whatever has arrived; nil, \"closed\" at end of stream"},
		{"recv_exact", connRecvExact, "c:recv_exact(n) -> data | nil, err, partial -- exactly n bytes"},
		{"recv_until", connRecvUntil, "c:recv_until(delim [, max]) -> data | nil, err, partial -- the bytes before delim, which is consumed"},
		{"send_frame", connSendFrame, "c:send_frame(data [, {header=fmt}]) -> n | nil, err -- a length header (default \"!I\") then data"},
		{"recv_frame", connRecvFrame, "c:recv_frame([{header=fmt, max=n}]) -> data | nil, err, partial -- one frame of send_frame"},
		{"send_msg", connSendMsg, "c:send_msg(header [, body [, {header=fmt}]]) -> n | nil, err -- struct-packed length, JSON header with total_size, body"},
		{"recv_msg", connRecvMsg, "c:recv_msg([{header=fmt, max=n, max_header=n, size_key=s, body=false}]) -> header, body | nil, err -- one message of send_msg"},
		{"send_file", connSendFile, "c:send_file(path [, {hash=algo, dir=d, size=n, progress=false}]) -> bytes, hexdigest | nil, err -- stream a file to the peer"},
		{"recv_file", connRecvFile, "c:recv_file(path, size [, {hash=algo, expect=hex, dir=d, overwrite=false, unique=false, progress=false, min_rate=1024}]) -> bytes, hexdigest, name | nil, err -- stream size bytes into a file, kept only when complete"},
		{"settimeout", connSetTimeout, "c:settimeout(s) -- limit each later operation to s seconds (nil: none)"},
		{"peer", connPeer, "c:peer() -> host, port -- the peer's address"},
		{"local", connLocal, "c:local() -> host, port -- this end's address"},
		{"shutdown", connShutdown, "c:shutdown() -- stop sending; the peer reads end of stream, replies still arrive"},
		{"close", connClose, "c:close() -- close the connection"},
		{"closed", connClosed, "c:closed() -> bool -- whether close was called"},
		{"tls", connTLS, "c:tls() -> {version=, cipher=, fingerprint=, server_name=} | nil, err -- the TLS session: \"TLS 1.3\", the cipher suite, the peer certificate's \"sha256:hex\""},
		{"trace", connTrace, "c:trace(true | false | {to=path}) -- hexdump this connection's sends and receives, to stderr or appended to a file"},
		{"interactive", connInteractive, "c:interactive() -> reason -- hand the terminal to the connection: stdin lines go out, what arrives is printed, until the peer closes (\"closed\"), stdin ends (\"eof\") or Ctrl-C (\"interrupted\")"},
	},
}

func checkConn(L *glua.LState, n int) *engine.Conn { return check[*engine.Conn](L, n, "conn") }

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
	c, max := checkConn(L, 1), L.CheckInt(2)
	if max < 1 {
		L.ArgError(2, "max must be at least 1")
	}
	b, err := c.Recv(ctxOf(L), max)
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(b))
	return 1
}

func connRecvExact(L *glua.LState) int {
	c, n := checkConn(L, 1), L.CheckInt(2)
	if n < 0 {
		L.ArgError(2, "negative length")
	}
	b, err := c.RecvExact(ctxOf(L), n)
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	return 1
}

func connRecvUntil(L *glua.LState) int {
	c, delim, max := checkConn(L, 1), L.CheckString(2), L.OptInt(3, 64<<10)
	if delim == "" {
		L.ArgError(2, "empty delimiter")
	}
	b, err := c.RecvUntil(ctxOf(L), []byte(delim), max)
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	return 1
}

func connSendFrame(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 3)
	h := lengthFormat(L, optString(L, opts, "header", "!I"))
	if data, ok := L.Get(2).(glua.LString); ok {
		if err := c.SendFrame(ctxOf(L), h, sbytes(string(data))); err != nil {
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
	if err := c.SendParts(ctxOf(L), head, parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

func connRecvFrame(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2)
	h := lengthFormat(L, optString(L, opts, "header", "!I"))
	b, err := c.RecvFrame(ctxOf(L), h, optInt(L, opts, "max", netproto.DefaultMaxFrame))
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
	c, hdr, opts := checkConn(L, 1), L.CheckTable(2), optTable(L, 4)
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
	if err := c.SendParts(ctxOf(L), append(head, h...), parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

func connRecvMsg(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2)
	m := msgFormat(L, opts)
	raw, size, err := c.RecvMsgHeader(ctxOf(L), m)
	if err != nil {
		return fail(L, err)
	}
	hdr, err := decodeJSON(L, raw)
	if err != nil {
		return fail(L, err)
	}
	L.Push(hdr)
	if !optBool(L, opts, "body", true) {
		return 1
	}
	body, err := c.RecvExact(ctxOf(L), int(size))
	if err != nil {
		L.Pop(1)
		return failPartial(L, err, body)
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
	c, path, opts := checkConn(L, 1), L.CheckString(2), optTable(L, 3)
	o := fileOptions(L, opts)
	if optBool(L, opts, "progress", false) {
		if size, err := fileSize(o, path); err == nil {
			o.Progress = newProgress(L, "send", size)
		}
	}
	r, err := c.SendFile(ctxOf(L), path, o)
	if err != nil {
		return fail(L, err)
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
	c, path, size, opts := checkConn(L, 1), L.CheckString(2), L.CheckNumber(3), optTable(L, 4)
	if size < 0 || float64(size) != float64(int64(size)) {
		L.ArgError(3, "size must be a non-negative integer")
	}
	o := fileOptions(L, opts)
	if optBool(L, opts, "progress", false) {
		o.Progress = newProgress(L, "recv", int64(size))
	}
	o.MinRate = optInt(L, opts, "min_rate", DefaultMinRate)
	r, err := c.RecvFile(ctxOf(L), path, int64(size), o)
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
