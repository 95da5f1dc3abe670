package engine

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Defaults of ServerOptions.
const (
	DefaultMaxConns    = 10000
	DefaultIdleTimeout = 300 * time.Second
	DefaultGrace       = 120 * time.Second
)

// evictIdle is how long an established connection must have been idle
// before a new client may take its slot.
const evictIdle = time.Second

// ServerOptions configure a Server.
type ServerOptions struct {
	// MaxConns is how many connections are served at once (default
	// DefaultMaxConns).
	MaxConns int
	// IdleTimeout limits each operation on a connection (default
	// DefaultIdleTimeout; negative: none).
	IdleTimeout time.Duration
	// Grace is how long a new connection has to complete its first
	// request, that is its first read (default DefaultGrace; negative:
	// no limit), as sshd's LoginGraceTime.
	Grace time.Duration
	// Report, when set, is told of accept errors the server survives.
	Report func(error)
}

// A Server accepts connections on a listener and runs a handler for each
// on a goroutine of its own, until it is closed.
//
// It defends its slots as sshd does. A connection that has not completed
// its first request within Grace is closed (LoginGraceTime). When all
// MaxConns slots are taken, a new client does not wait behind clients that
// do nothing: the server closes a connection that has not completed a
// request yet, the oldest first (MaxStartups), or else the one idle the
// longest in a read or write, if a second or more. A handler at work (not
// waiting on its peer) is never closed for another. Only when no
// connection can go do new clients wait in the listen backlog.
type Server struct {
	ln      *Listener
	opts    ServerOptions
	handler func(ctx context.Context, c *Conn)

	ctx    context.Context
	cancel context.CancelFunc
	conns  sync.WaitGroup
	done   chan struct{}

	mu      sync.Mutex
	live    map[*Conn]*servedConn
	freed   chan struct{} // a token when a slot frees while the loop waits
	served  int64
	evicted int64
}

type servedConn struct {
	cancel   context.CancelFunc
	accepted time.Time
}

// Serve starts serving ln with handler; the connection is closed when the
// handler returns. Closing the server (or cancelling ctx) stops accepting
// and cancels every handler's context.
func Serve(ctx context.Context, ln *Listener, o ServerOptions, handler func(ctx context.Context, c *Conn)) *Server {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{ln: ln, opts: o, handler: handler, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), live: map[*Conn]*servedConn{}, freed: make(chan struct{}, 1)}
	go s.acceptLoop()
	if o.Grace > 0 {
		go s.enforceGrace()
	}
	return s
}

func (s *Server) acceptLoop() {
	defer func() {
		s.ln.Close()
		s.conns.Wait()
		close(s.done)
	}()
	for {
		c, err := s.ln.Accept(s.ctx)
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return
			}
			// Out of descriptors and the like: report, breathe, go on.
			if s.opts.Report != nil {
				s.opts.Report(err)
			}
			if Sleep(s.ctx, 50*time.Millisecond) != nil {
				return
			}
			continue
		}
		if !s.makeRoom() {
			c.Close()
			return
		}
		if s.opts.IdleTimeout > 0 {
			c.SetTimeout(s.opts.IdleTimeout)
		}
		ctx, cancel := context.WithCancel(s.ctx)
		s.mu.Lock()
		s.live[c] = &servedConn{cancel: cancel, accepted: time.Now()}
		s.served++
		s.mu.Unlock()
		s.conns.Add(1)
		go s.handle(ctx, cancel, c)
	}
}

// makeRoom returns once the connection just accepted may be served: at
// once while slots are free, else after closing a connection that wastes
// one, else when one frees (meanwhile later clients wait in the backlog).
// It returns false when the server is closing.
func (s *Server) makeRoom() bool {
	for {
		s.mu.Lock()
		if len(s.live) < s.opts.MaxConns {
			s.mu.Unlock()
			return true
		}
		victim := s.victim(time.Now())
		if victim != nil {
			s.evict(victim)
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
		select {
		case <-s.freed:
		case <-time.After(evictIdle / 4):
		case <-s.ctx.Done():
			return false
		}
	}
}

// victim chooses the connection to close for a new client, under s.mu,
// among those waiting on their peer: the oldest that has not completed a
// request, or else the longest idle if it has been idle long enough. A
// handler at work (running a command, say) is never chosen.
func (s *Server) victim(now time.Time) *Conn {
	var startup, idle *Conn
	var startupAt time.Time
	var idleFor time.Duration
	for c, sc := range s.live {
		if c.Closed() || c.Idle(now) == 0 {
			continue // closing already, or working
		}
		if !c.Requested() {
			if startup == nil || sc.accepted.Before(startupAt) {
				startup, startupAt = c, sc.accepted
			}
			continue
		}
		if d := c.Idle(now); d >= evictIdle && d > idleFor {
			idle, idleFor = c, d
		}
	}
	if startup != nil {
		return startup
	}
	return idle
}

// evict closes c for a new client, under s.mu. Its slot is counted free at
// once: its handler ends as soon as its context is cancelled.
func (s *Server) evict(c *Conn) {
	s.live[c].cancel()
	c.Close()
	delete(s.live, c)
	s.evicted++
}

// enforceGrace closes the connections that have not completed their first
// request within Grace.
func (s *Server) enforceGrace() {
	tick := time.NewTicker(min(s.opts.Grace/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			s.mu.Lock()
			for c, sc := range s.live {
				if !c.Requested() && now.Sub(sc.accepted) > s.opts.Grace {
					s.evict(c)
				}
			}
			s.mu.Unlock()
		}
	}
}

func (s *Server) handle(ctx context.Context, cancel context.CancelFunc, c *Conn) {
	defer func() {
		cancel()
		c.Close()
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
		select {
		case s.freed <- struct{}{}:
		default:
		}
		s.conns.Done()
	}()
	s.handler(ctx, c)
}

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Port() }

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting and cancels every handler's context.
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

// Done is closed when the server is closed and every handler has returned.
func (s *Server) Done() <-chan struct{} { return s.done }

// Closing reports whether Close has been called.
func (s *Server) Closing() bool { return s.ctx.Err() != nil }

// Stats returns the connections served so far, those open now, and those
// closed to make room or for missing the grace time.
func (s *Server) Stats() (served, open, evicted int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served, int64(len(s.live)), s.evicted
}
