package lua

import (
	"fmt"
	"reflect"

	"github.com/wirelab/wirelab/engine"
	glua "github.com/yuin/gopher-lua"
)

// The udp class: socket.udp's datagram socket.

var udpClass = &class{
	name:   "udp",
	goType: reflect.TypeFor[*engine.UDP](),
	pass:   passRef,
	doc:    "a UDP socket",
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
		{"trace", udpTrace, "u:trace(true | false | {to=path, format=\"text\", pcap=path}) -- dump this socket's datagrams, as c:trace does; pcap: one UDP packet each"},
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
