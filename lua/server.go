package lua

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// Defaults of socket.serve.
const (
	DefaultMaxConns    = 10000
	DefaultIdleTimeout = 300 * time.Second
)

// A Server accepts connections and runs a Lua handler for each, every one
// in a state and goroutine of its own.
type Server struct {
	rt      *Runtime
	ln      *engine.Listener
	handler *frozenCall
	idle    time.Duration
	slots   chan struct{} // one token per connection being served

	ctx    context.Context
	cancel context.CancelFunc
	conns  sync.WaitGroup
	done   chan struct{} // closed when the accept loop and every handler are over
	served sync.Mutex
	count  int64
}

// serve starts accepting on ln.
func (rt *Runtime) serve(ln *engine.Listener, handler *frozenCall, maxConns int, idle time.Duration) *Server {
	ctx, cancel := context.WithCancel(rt.ctx)
	s := &Server{rt: rt, ln: ln, handler: handler, idle: idle, slots: make(chan struct{}, maxConns),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	rt.begin()
	rt.mu.Lock()
	rt.servers[s] = struct{}{}
	rt.mu.Unlock()
	go s.acceptLoop()
	return s
}

func (s *Server) acceptLoop() {
	defer func() {
		s.conns.Wait()
		s.rt.mu.Lock()
		delete(s.rt.servers, s)
		s.rt.mu.Unlock()
		close(s.done)
		s.rt.end()
	}()
	for {
		// At max_conns, stop accepting: new clients wait in the backlog.
		select {
		case s.slots <- struct{}{}:
		case <-s.ctx.Done():
			s.ln.Close()
			return
		}
		c, err := s.ln.Accept(s.ctx)
		if err != nil {
			<-s.slots
			if s.ctx.Err() != nil || errors.Is(err, engine.ErrClosed) {
				s.ln.Close()
				return
			}
			// Out of descriptors and the like: report, breathe, go on.
			s.rt.reportf("wirelab: accept on port %d: %v\n", s.ln.Port(), err)
			if engine.Sleep(s.ctx, 50*time.Millisecond) != nil {
				s.ln.Close()
				return
			}
			continue
		}
		c.SetTimeout(s.idle)
		s.served.Lock()
		s.count++
		s.served.Unlock()
		s.conns.Add(1)
		go s.handle(c)
	}
}

// handle runs the handler for one connection and closes it afterwards,
// however the handler ended.
func (s *Server) handle(c *engine.Conn) {
	defer func() {
		c.Close()
		<-s.slots
		s.conns.Done()
	}()
	if _, err := s.rt.callIn(s.ctx, s.handler, c); err != nil && s.ctx.Err() == nil {
		s.rt.reportf("wirelab: handler for %s on port %d failed: %v\n", c.RemoteAddr(), s.ln.Port(), err)
	}
}

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Port() }

// Close stops accepting and interrupts every handler.
func (s *Server) Close() {
	s.cancel()
	s.ln.Close()
}

// Wait blocks until the server is closed and every handler has returned,
// or ctx is done.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) status() string {
	select {
	case <-s.done:
		return "closed"
	default:
	}
	if s.ctx.Err() != nil {
		return "closing"
	}
	return "listening"
}

func socketServe(L *glua.LState) int {
	host, port := optHost(L, 1), checkPort(L, 2)
	handler := L.CheckFunction(3)
	opts := optTable(L, 4)
	maxConns := optInt(L, opts, "max_conns", DefaultMaxConns)
	if maxConns < 1 {
		L.RaiseError("option max_conns must be at least 1")
	}
	idle := DefaultIdleTimeout
	if v := optField(opts, "idle_timeout"); v != glua.LNil {
		idle = seconds(L, v, "idle_timeout")
	}
	c, err := freezeCall(L, handler, nil)
	if err != nil {
		L.RaiseError("socket.serve: %v", err)
	}
	ln, err := engine.Listen(ctxOf(L), host, port, int(optInt(L, opts, "backlog", 0)))
	if err != nil {
		return fail(L, err)
	}
	L.Push(newObject(L, stateOf(L).rt.serve(ln, c, int(maxConns), idle)))
	return 1
}

var serverClass = &class{
	name: "server",
	doc:  "a TCP server running a handler per connection",
	tostring: func(v any) string {
		s := v.(*Server)
		s.served.Lock()
		n := s.count
		s.served.Unlock()
		return fmt.Sprintf("<server %s %s, %d served>", s.ln.Addr(), s.status(), n)
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
