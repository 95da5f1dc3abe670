package lua

import (
	"fmt"
	"math"
	"net"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// socket.proxy{udp = true}: the relay of datagrams (engine.UDPProxy), in
// the same proxy class as the relay of streams.
//
// A script holds either relay as a proxy, with the same methods, so the
// class has two Go types (class.also) and its methods reach the
// relay through relay, what both have in common; p:set alone differs, by
// the faults each kind takes.

// relay is what the proxy class's methods ask of a relay, of streams or
// of datagrams.
type relay interface {
	Addr() net.Addr
	Port() int
	Stats() (conns, up, down int64)
	Close() error
	Done() <-chan struct{}
}

var (
	_ relay = (*engine.Proxy)(nil)
	_ relay = (*engine.UDPProxy)(nil)
)

func checkRelay(L *glua.LState) relay { return check[relay](L, 1, "proxy") }

// streamOnlyKeys are the faults of a byte stream, which a relay of
// datagrams has not: a datagram goes whole or not at all.
var streamOnlyKeys = []string{"slice", "slice_delay", "coalesce", "limit", "reset_after", "stall_after"}

// checkRelayKind raises for the faults of opts (argument n) that the
// relay's kind has not: the stream's with udp, the datagrams' without.
func checkRelayKind(L *glua.LState, n int, opts *glua.LTable, udp bool) {
	if udp {
		for _, k := range streamOnlyKeys {
			if optField(opts, k) != glua.LNil {
				L.ArgError(n, "option "+k+": TCP only, not with udp = true (datagrams take loss, dup, delay, jitter, rate)")
			}
		}
		return
	}
	for _, k := range []string{"loss", "dup"} {
		if optField(opts, k) != glua.LNil {
			L.ArgError(n, "option "+k+": a datagram fault, for udp = true only")
		}
	}
}

// udpProxyFaults reads the datagram faults of opts (argument n): up, down.
func udpProxyFaults(L *glua.LState, n int, opts *glua.LTable) (up, down engine.UDPFaults) {
	prob := func(name string) float64 {
		v := optField(opts, name)
		if v == glua.LNil {
			return 0
		}
		p, ok := v.(glua.LNumber)
		if !ok || !(p >= 0 && p <= 1) {
			L.ArgError(n, fmt.Sprintf("option %s: a probability from 0 to 1 expected, got %s", name, luaShow(v)))
		}
		return float64(p)
	}
	var f engine.UDPFaults
	f.Loss, f.Dup = prob("loss"), prob("dup")
	f.Delay, f.Jitter = optSeconds(L, opts, "delay"), optSeconds(L, opts, "jitter")
	if f.Rate = optInt(L, opts, "rate", 0); f.Rate < 0 {
		L.ArgError(n, fmt.Sprintf("option rate: a number of bytes, 0 or more, expected, got %d", f.Rate))
	}
	return byDirection(L, n, opts, f)
}

// luaShow is v as an error message shows it: a number as Lua 5.1 prints
// it, a string quoted, others by their type.
func luaShow(v glua.LValue) string {
	switch v := v.(type) {
	case glua.LNumber:
		f := float64(v)
		switch {
		case math.IsNaN(f):
			return "nan"
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		}
		return v.String()
	case glua.LString:
		return fmt.Sprintf("%q", string(v))
	}
	return v.Type().String()
}

// socketProxyUDP is socket.proxy with udp = true: opts (argument o) are
// read but for its faults, t is the trace.
func socketProxyUDP(L *glua.LState, host string, port int, thost string, tport, o int, opts *glua.LTable, t *engine.Tracer) int {
	if strings.HasPrefix(thost, engine.UnixPrefix) {
		L.ArgError(3, "udp = true: the target is a host and a port (datagrams go to UDP ports, not unix: sockets)")
	}
	if tport == 0 {
		L.ArgError(4, "udp = true: the target needs a port from 1 to 65535")
	}
	up, down := udpProxyFaults(L, o, opts)
	rt := stateOf(L).rt
	to := engine.DialAddr(thost, tport)
	p, err := engine.NewUDPProxy(rt.ctx, host, port, thost, tport, engine.UDPProxyOptions{Up: up, Down: down, Trace: t,
		Report: func(err error) { rt.reportf("wirelab: udp proxy to %s: %v\n", to, err) }})
	if err != nil {
		return bindFail(L, nil, err)
	}
	rt.begin()
	go func() {
		<-p.Done()
		rt.end()
	}()
	L.Push(newObject(L, p))
	return 1
}

// udpProxySet is p:set(opts) of a relay of datagrams.
func udpProxySet(L *glua.LState, p *engine.UDPProxy) int {
	opts := optTable(L, 2, append([]string{"loss", "dup"}, faultKeys...)...)
	checkRelayKind(L, 2, opts, true)
	p.Set(udpProxyFaults(L, 2, opts))
	return 0
}
