package lua

import (
	"fmt"
	"net"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// socketModule is the socket module.
var socketModule = &module{
	name: "socket",
	doc:  "TCP and UDP sockets: connect, listen, serve, udp",
	funcs: []fn{
		{"connect", socketConnect, "socket.connect(host, port [, {timeout=s, tls=true|{verify=, sni=, ca=, fingerprint=}}]) -> conn | nil, err -- open a TCP connection (TLS with tls; host \"unix:PATH\": a Unix socket)"},
		{"listen", socketListen, "socket.listen(host, port [, {backlog=n, tls={cert=, key=}, raise=false}]) -> listener -- listen for TCP connections; port 0 picks a free one (host \"unix:PATH\": a Unix socket). A port in use raises \"listen HOST:PORT: address in use\"; with raise=false it returns nil, err instead"},
		{"trace", socketTrace, "socket.trace(true | false | {to=path, format=\"text\", pcap=path}) -- dump every send, receive and event of the sockets made from now on (TCP, UDP, Unix), to stderr or appended to a file, as hexdump or text; pcap: into a pcapng file too"},
		{"clean_partial", socketCleanPartial, "socket.clean_partial(dir) -> n | nil, err -- remove the partial files that recv_file left in dir's .wirelab-partial when its process was killed mid-transfer"},
		{"serve", socketServe, "socket.serve(host, port, handler [, {max_conns=n, idle_timeout=s, grace=s, backlog=n, max_depth=n, tls={cert=, key=}, raise=false}]) -> server -- run handler(conn) for every connection, each in its own task; a failed bind raises, as listen (raise=false: nil, err)"},
		{"is_loopback", socketIsLoopback, "socket.is_loopback(host) -> bool -- whether a server on host is reachable only from this machine: \"localhost\", a loopback address (127.0.0.0/8, ::1) or unix:PATH; the address is parsed, so 127.example.com is not"},
		{"proxy", socketProxy, "socket.proxy(host, port, target_host, target_port [, {slice=, slice_delay=, coalesce=, delay=, jitter=, rate=, limit=, reset_after=, stall_after=, direction=, trace=, pcap=, on_data=fn(dir, data, session), frames=\"!I\" | \"line\", on_connect=fn(session)}]) -> proxy -- relay every connection to the target, byte for byte, bending the wire with the faults given (times in seconds; target unix:PATH without a port); on_data returns the bytes to forward (nil: unchanged), per chunk or per whole frame; on_connect returning false refuses; with udp=true, datagrams, each whole or not at all, with loss=, dup= (probabilities), delay=, jitter=, rate=, direction="},
		{"udp", socketUDP, "socket.udp([host, port] [, {raise=false}]) -> udp -- a UDP socket, bound to host:port when given; a failed bind raises \"udp HOST:PORT: address in use\" (raise=false: nil, err)"},
	},
}

func socketIsLoopback(L *glua.LState) int {
	L.Push(glua.LBool(engine.IsLoopback(L.CheckString(1))))
	return 1
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
	o := clientTLS(L, n, opts)
	if o != nil && o.Insecure {
		stateOf(L).rt.warnInsecure(host, port)
	}
	if o != nil {
		// Traced from the handshake, so that a capture holds its
		// records and the secrets that decrypt them.
		o.Trace = stateOf(L).rt.allTrace()
	}
	c, err := engine.DialAny(ctxOf(L), host, port, optSeconds(L, opts, "timeout"), o)
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
	if t := stateOf(L).rt.allTrace(); t != nil {
		u.SetTracer(t)
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
