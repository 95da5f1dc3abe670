package lua

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// The proxy class: socket.proxy's relay, with its faults (engine.Proxy,
// or engine.UDPProxy with udp = true: socket_proxy_udp.go).

var proxyClass = &class{
	name:   "proxy",
	goType: reflect.TypeFor[*engine.Proxy](),
	also:   []reflect.Type{reflect.TypeFor[*engine.UDPProxy]()},
	pass:   passRef,
	doc:    "a relay to a target, bending the wire on purpose",
	tostring: func(v any) string {
		if u, ok := v.(*engine.UDPProxy); ok {
			return fmt.Sprintf("<proxy udp %s>", u.Addr())
		}
		p := v.(*engine.Proxy)
		return fmt.Sprintf("<proxy %s>", p.Addr())
	},
	methods: []fn{
		{"port", proxyPort, "p:port() -> n -- the port the proxy listens on"},
		{"set", proxySet, "p:set(opts) -- new faults (slice=, delay=, rate=, ...; udp: loss=, dup=, ...) for the bytes forwarded from now on, live connections too"},
		{"stats", proxyStats, "p:stats() -> {connections=, up=, down=} -- connections relayed (udp: client sessions) and bytes forwarded each way"},
		{"close", proxyClose, "p:close() -- stop relaying and close every relayed connection"},
	},
}

func checkProxy(L *glua.LState) *engine.Proxy { return check[*engine.Proxy](L, 1, "proxy") }

// faultKeys are the options of socket.proxy and p:set that are faults.
var faultKeys = []string{"slice", "slice_delay", "coalesce", "delay", "jitter", "rate", "limit", "reset_after", "stall_after", "direction"}

// notYet are socket.proxy's options that this version does not have:
// named, so that a script asking for them learns it at once.
var notYet = map[string]bool{"on_data": true, "frames": true, "on_connect": true}

// proxyFaults reads the faults of opts (argument n of fname): up, down.
func proxyFaults(L *glua.LState, n int, opts *glua.LTable) (up, down engine.Faults) {
	var f engine.Faults
	count := func(name string) int64 {
		v := optInt(L, opts, name, 0)
		if v < 0 {
			L.ArgError(n, fmt.Sprintf("option %s: a number of bytes, 0 or more, expected, got %d", name, v))
		}
		return int64(v)
	}
	f.Slice = int(count("slice"))
	f.Rate, f.Limit, f.ResetAfter, f.StallAfter = count("rate"), count("limit"), count("reset_after"), count("stall_after")
	f.SliceDelay = optSeconds(L, opts, "slice_delay")
	f.Coalesce = optSeconds(L, opts, "coalesce")
	f.Delay = optSeconds(L, opts, "delay")
	f.Jitter = optSeconds(L, opts, "jitter")
	if f.SliceDelay > 0 && f.Slice == 0 {
		L.ArgError(n, "option slice_delay needs slice")
	}
	up, down = f, f
	switch dir := optString(L, opts, "direction", ""); dir {
	case "":
	case "up":
		down = engine.Faults{}
	case "down":
		up = engine.Faults{}
	default:
		L.ArgError(n, fmt.Sprintf("option direction: \"up\" or \"down\" expected, got %q", dir))
	}
	return up, down
}

// optSeconds is option name of opts in seconds, 0 when absent.
func optSeconds(L *glua.LState, opts *glua.LTable, name string) time.Duration {
	v := optField(opts, name)
	if v == glua.LNil {
		return 0
	}
	return seconds(L, v, name)
}

func socketProxy(L *glua.LState) int {
	host, port, n := addrArgs(L, "127.0.0.1")
	thost := L.CheckString(n)
	tport, o := 0, n+1
	if !strings.HasPrefix(thost, engine.UnixPrefix) {
		tport, o = checkPort(L, n+1), n+2
	}
	keys := append([]string{"trace", "pcap", "udp", "loss", "dup"}, faultKeys...)
	for k := range notYet {
		keys = append(keys, k)
	}
	opts := optTable(L, o, keys...)
	for k := range notYet {
		if optField(opts, k) != glua.LNil {
			L.ArgError(o, "option "+k+": not in this version of socket.proxy (faults, trace and pcap are)")
		}
	}
	udp := optBool(L, opts, "udp", false)
	checkRelayKind(L, o, opts, udp)
	var up, down engine.Faults
	if !udp {
		up, down = proxyFaults(L, o, opts)
	}
	rt := stateOf(L).rt
	t := rt.allTrace()
	if v := optField(opts, "trace"); v != glua.LNil {
		t, _ = traceValue(L, v, o, "proxy")
	}
	if pcap := optString(L, opts, "pcap", ""); pcap != "" {
		c, err := rt.capture(pcap)
		if err != nil {
			L.ArgError(o, "pcap: "+err.Error())
		}
		if t == nil {
			t = engine.CaptureTracer(c)
		} else {
			t = t.WithCapture(c)
		}
	}
	t = rt.withPinned(t)
	if udp {
		return socketProxyUDP(L, host, port, thost, tport, o, opts, t)
	}
	ln, err := engine.Listen(ctxOf(L), host, port, 0)
	if err != nil {
		return bindFail(L, nil, err)
	}
	p := engine.NewProxy(rt.ctx, ln, engine.ProxyOptions{Up: up, Down: down, Trace: t,
		Report: func(err error) { rt.reportf("wirelab: proxy on port %d: %v\n", ln.Port(), err) },
		Dial: func(ctx context.Context) (net.Conn, error) {
			return engine.DialNet(ctx, thost, tport, 30*time.Second)
		}})
	rt.begin()
	go func() {
		<-p.Done()
		rt.end()
	}()
	L.Push(newObject(L, p))
	return 1
}

func proxyPort(L *glua.LState) int {
	L.Push(glua.LNumber(checkRelay(L).Port()))
	return 1
}

func proxySet(L *glua.LState) int {
	if u, ok := checkRelay(L).(*engine.UDPProxy); ok {
		return udpProxySet(L, u)
	}
	p := checkProxy(L)
	opts := optTable(L, 2, append([]string{"loss", "dup"}, faultKeys...)...)
	checkRelayKind(L, 2, opts, false)
	up, down := proxyFaults(L, 2, opts)
	p.Set(up, down)
	return 0
}

func proxyStats(L *glua.LState) int {
	conns, up, down := checkRelay(L).Stats()
	t := L.CreateTable(0, 3)
	t.RawSetString("connections", glua.LNumber(conns))
	t.RawSetString("up", glua.LNumber(up))
	t.RawSetString("down", glua.LNumber(down))
	L.Push(t)
	return 1
}

func proxyClose(L *glua.LState) int {
	checkRelay(L).Close()
	return 0
}
