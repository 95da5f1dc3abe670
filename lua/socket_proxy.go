package lua

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/netproto"
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
	return byDirection(L, n, opts, f)
}

// byDirection gives f to both directions, or only to the one that
// opts.direction names ("up": client to target), the other getting none.
func byDirection[F any](L *glua.LState, n int, opts *glua.LTable, f F) (up, down F) {
	var none F
	switch dir := optString(L, opts, "direction", ""); dir {
	case "":
		return f, f
	case "up":
		return f, none
	case "down":
		return none, f
	default:
		L.ArgError(n, fmt.Sprintf("option direction: \"up\" or \"down\" expected, got %q", dir))
	}
	return f, f
}

func socketProxy(L *glua.LState) int {
	host, port, n := addrArgs(L, "127.0.0.1")
	thost := L.CheckString(n)
	tport, o := 0, n+1
	if !strings.HasPrefix(thost, engine.UnixPrefix) {
		tport, o = checkPort(L, n+1), n+2
	}
	keys := append([]string{"trace", "pcap", "udp", "loss", "dup", "on_data", "on_connect", "frames"}, faultKeys...)
	opts := optTable(L, o, keys...)
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
		for _, k := range []string{"on_data", "on_connect", "frames"} {
			if optField(opts, k) != glua.LNil {
				L.ArgError(o, "option "+k+": the hooks are for streams, not with udp = true")
			}
		}
		return socketProxyUDP(L, host, port, thost, tport, o, opts, t)
	}
	po := engine.ProxyOptions{Up: up, Down: down, Trace: t}
	proxyHooks(L, o, opts, &po)
	ln, err := engine.Listen(ctxOf(L), host, port, 0)
	if err != nil {
		return bindFail(L, nil, err)
	}
	po.Report = func(err error) { rt.reportf("wirelab: proxy on port %d: %v\n", ln.Port(), err) }
	po.Dial = func(ctx context.Context) (net.Conn, error) {
		return engine.DialNet(ctx, thost, tport, 30*time.Second)
	}
	p := engine.NewProxy(rt.ctx, ln, po)
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

// The session class: a relayed connection as socket.proxy's hooks see it.
var sessionClass = &class{
	name:   "session",
	goType: reflect.TypeFor[*engine.Session](),
	pass:   passRefuse,
	doc:    "a connection relayed by a proxy, as its hooks see it",
	tostring: func(v any) string {
		return fmt.Sprintf("<session %s>", v.(*engine.Session).Client())
	},
	methods: []fn{
		{"set", sessionSet, "session:set(opts) -- faults of this connection's own (slice=, delay=, ...), from the next byte"},
		{"client", sessionClient, "session:client() -> host, port -- the client's address"},
	},
}

func checkSession(L *glua.LState) *engine.Session { return check[*engine.Session](L, 1, "session") }

func sessionSet(L *glua.LState) int {
	ss := checkSession(L)
	up, down := proxyFaults(L, 2, optTable(L, 2, faultKeys...))
	ss.Set(up, down)
	return 0
}

func sessionClient(L *glua.LState) int {
	return pushAddr(L, checkSession(L).Client())
}

// proxyHooks reads the hooks of socket.proxy's opts (argument n) into
// o: on_data, on_connect and frames. The hooks are copied, as a task's
// function is, into a state of each connection's own, where they run one
// call at a time (both directions take turns), so that their upvalues
// live as long as the connection.
func proxyHooks(L *glua.LState, n int, opts *glua.LTable, o *engine.ProxyOptions) {
	onData, onConnect := optField(opts, "on_data"), optField(opts, "on_connect")
	for name, v := range map[string]glua.LValue{"on_data": onData, "on_connect": onConnect} {
		if _, ok := v.(*glua.LFunction); !ok && v != glua.LNil {
			L.ArgError(n, "option "+name+": a function expected, got "+v.Type().String())
		}
	}
	switch f := optField(opts, "frames").(type) {
	case *glua.LNilType:
	case glua.LString:
		if onData == glua.LNil {
			L.ArgError(n, "option frames needs on_data")
		}
		if f == "line" {
			o.Lines = true
			break
		}
		h, err := netproto.LengthHeader(string(f))
		if err != nil {
			L.ArgError(n, "option frames: "+err.Error()+" (or \"line\")")
		}
		o.Frames = h
	default:
		L.ArgError(n, "option frames: a struct format such as \"!I\", or \"line\", expected, got "+f.Type().String())
	}
	if onData == glua.LNil && onConnect == glua.LNil {
		return
	}
	pair := L.CreateTable(0, 2)
	pair.RawSetString("on_data", onData)
	pair.RawSetString("on_connect", onConnect)
	frozen, err := freezeCall(L, pair, nil)
	if err != nil {
		L.ArgError(n, "hooks: "+err.Error())
	}
	rt := stateOf(L).rt
	o.Hooks = func(s *engine.Session) (engine.SessionHooks, error) {
		ctx, cancel := context.WithCancel(rt.ctx)
		HL := rt.newStateDepth(ctx, handlerDepth)
		fn, _ := thawCall(HL, frozen)
		t, _ := fn.(*glua.LTable)
		if t == nil {
			cancel()
			HL.Close()
			return nil, fmt.Errorf("proxy hooks: lost in the copy")
		}
		return &luaHooks{L: HL, cancel: cancel, onData: t.RawGetString("on_data"), onConnect: t.RawGetString("on_connect"),
			session: newObject(HL, s), client: s.Client().String()}, nil
	}
}

// luaHooks are one connection's hooks, in its own state.
type luaHooks struct {
	mu                sync.Mutex
	L                 *glua.LState
	cancel            context.CancelFunc
	onData, onConnect glua.LValue
	session           glua.LValue
	client            string
}

// call calls fn with args in the hooks' state and returns its first
// result.
func (h *luaHooks) call(fn glua.LValue, args ...glua.LValue) (glua.LValue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	L := h.L
	top := L.GetTop()
	defer L.SetTop(top)
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := pcallNamed(L, len(args)); err != nil {
		msg := err.Error()
		if api, ok := err.(*glua.ApiError); ok {
			msg = fixMessage(api.Object).String()
		}
		return nil, fmt.Errorf("proxy hook for %s failed: %s", h.client, msg)
	}
	if L.GetTop() > top {
		return L.Get(top + 1), nil
	}
	return glua.LNil, nil
}

// Connect implements engine.SessionHooks: only a false refuses.
func (h *luaHooks) Connect() bool {
	if h.onConnect == glua.LNil {
		return true
	}
	v, err := h.call(h.onConnect, h.session)
	if err != nil {
		stateOf(h.L).rt.reportf("wirelab: %v\n", err)
		return false
	}
	return v != glua.LFalse
}

// Data implements engine.SessionHooks.
func (h *luaHooks) Data(up bool, p []byte) ([]byte, error) {
	if h.onData == glua.LNil {
		return nil, nil
	}
	dir := glua.LString("down")
	if up {
		dir = "up"
	}
	v, err := h.call(h.onData, dir, glua.LString(p), h.session)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LString:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("proxy hook for %s: on_data must return a string or nil, not a %s", h.client, v.Type())
}

// Close implements engine.SessionHooks.
func (h *luaHooks) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancel()
	h.L.Close()
}
