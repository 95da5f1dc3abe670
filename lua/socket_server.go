package lua

import (
	"context"
	"fmt"
	"reflect"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// A Server is engine.Server running a Lua handler per connection, every
// one in a state and goroutine of its own.
type Server struct {
	*engine.Server
	rt *Runtime
}

// serve starts serving ln with the frozen handler.
func (rt *Runtime) serve(ln *engine.Listener, handler *frozenCall, o engine.ServerOptions, depth int) *Server {
	s := &Server{rt: rt}
	o.Report = func(err error) {
		rt.reportf("wirelab: accept on port %d: %v\n", ln.Port(), err)
	}
	s.Server = engine.Serve(rt.ctx, ln, o, func(ctx context.Context, c *engine.Conn) {
		rt.traceNew(c)
		if _, err := rt.callDepth(ctx, depth, handler, c); err != nil && ctx.Err() == nil {
			rt.reportf("wirelab: handler for %s on port %d failed: %v\n", c.RemoteAddr(), ln.Port(), err)
		}
	})
	rt.begin()
	rt.mu.Lock()
	rt.servers[s] = struct{}{}
	rt.mu.Unlock()
	go func() {
		<-s.Done()
		rt.mu.Lock()
		delete(rt.servers, s)
		rt.mu.Unlock()
		rt.end()
	}()
	return s
}

func (s *Server) status() string {
	select {
	case <-s.Done():
		return "closed"
	default:
	}
	if s.Closing() {
		return "closing"
	}
	return "listening"
}

func socketServe(L *glua.LState) int {
	host, port, n := addrArgs(L, "127.0.0.1")
	handler := L.CheckFunction(n)
	opts := optTable(L, n+1, "max_conns", "idle_timeout", "grace", "backlog", "max_depth", "tls", "raise")
	tlsConfig := serverTLS(L, n+1, "serve", opts)
	maxConns := optInt(L, opts, "max_conns", engine.DefaultMaxConns)
	if maxConns < 1 {
		L.RaiseError("option max_conns must be at least 1")
	}
	// 0 means none, in Lua as in settimeout; engine takes 0 as its default.
	limit := func(name string, def time.Duration) time.Duration {
		v := optField(opts, name)
		if v == glua.LNil {
			return def
		}
		if d := seconds(L, v, name); d > 0 {
			return d
		}
		return -1
	}
	depth := optInt(L, opts, "max_depth", handlerDepth)
	if depth < 100 || depth > maxDepth {
		L.RaiseError("option max_depth must be between 100 and %d", maxDepth)
	}
	o := engine.ServerOptions{MaxConns: int(maxConns),
		IdleTimeout: limit("idle_timeout", engine.DefaultIdleTimeout),
		Grace:       limit("grace", engine.DefaultGrace)}
	c, err := freezeCall(L, handler, nil)
	if err != nil {
		L.RaiseError("socket.serve: %v", err)
	}
	ln, err := listenOn(L, host, port, optInt(L, opts, "backlog", 0), tlsConfig)
	if err != nil {
		return bindFail(L, opts, err)
	}
	L.Push(newObject(L, stateOf(L).rt.serve(ln, c, o, int(depth))))
	return 1
}

var serverClass = &class{
	name:   "server",
	goType: reflect.TypeFor[*Server](),
	// A handle whose state is behind locks and channels.
	pass: passRef,
	doc:  "a TCP server running a handler per connection",
	tostring: func(v any) string {
		s := v.(*Server)
		n, _, _ := s.Stats()
		return fmt.Sprintf("<server %s %s, %d served>", s.Addr(), s.status(), n)
	},
	methods: []fn{
		{"port", serverPort, "srv:port() -> n -- the port served"},
		{"close", serverClose, "srv:close() -- stop accepting and interrupt every handler"},
		{"wait", serverWait, "srv:wait() -> true | nil, err -- wait until the server is closed and its handlers are done"},
	},
}

func checkServer(L *glua.LState) *Server { return check[*Server](L, 1, "server") }

func serverPort(L *glua.LState) int {
	L.Push(glua.LNumber(checkServer(L).Port()))
	return 1
}

func serverClose(L *glua.LState) int {
	checkServer(L).Close()
	return 0
}

func serverWait(L *glua.LState) int {
	if err := checkServer(L).Wait(ctxOf(L)); err != nil {
		return fail(L, engine.ErrInterrupted)
	}
	L.Push(glua.LTrue)
	return 1
}
