package lua

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// The memory budget (Options.MaxMemory).
//
// Go has one heap for the whole process and no way to charge an
// allocation to the goroutine that made it, and past the machine's memory
// it ends the process with a fatal error that no recover catches: one
// script's table of 2e9 integers would take every connection down with
// it. So a monitor samples the heap; when it stays above a runtime's
// budget after a collection, the runtime is "under pressure", and every
// state of it that runs Lua code measures what it holds, once per round
// of pressure, on its own goroutine (a state is not goroutine-safe). A
// state holding more than the round's limit gets "not enough memory",
// Lua 5.1's words, raised where its code stands; pcall catches it as in
// Lua 5.1. The first round's limit is a quarter of the budget; while the
// heap stays above the budget and no state is over the limit, each round
// halves it, down to a 64th of the budget, so a few middling hoarders go
// before anyone small. A state blocked in a call (waiting for a
// connection's bytes) runs no code, grows nothing and is never raised.
//
// The check sits in the state's context: gopher-lua asks a state's
// context for its Done channel before every instruction, and memCtx.Done
// looks at the round first. Outside a round that is one atomic load.

// A memWatch is a runtime's side of the monitor.
type memWatch struct {
	budget int64
	// round counts rounds of pressure; limit is the current round's.
	round atomic.Uint64
	limit atomic.Int64
	// raised counts the states raised since the last round began;
	// measuring counts states measuring themselves now.
	raised    atomic.Int64
	measuring atomic.Int64
	// pressed and since are the monitor's own: whether the heap was above
	// the budget at its last look, and when the current round began.
	pressed bool
	since   time.Time
}

// Minimum time between rounds that lower the limit: a state measuring a
// large table, and the collection that frees what a raised state held,
// take a while. A tuning of the monitor, not a promise to scripts.
const (
	memTick       = 10 * time.Millisecond
	memRoundPause = 250 * time.Millisecond
)

// newMemWatch returns a watch over budget bytes that the monitor serves
// until ctx ends.
func newMemWatch(ctx context.Context, budget int64) *memWatch {
	w := &memWatch{budget: budget}
	monitor.add(w)
	context.AfterFunc(ctx, func() { monitor.remove(w) })
	return w
}

// monitor is the process's one heap monitor: one goroutine, running while
// some runtime has a budget.
var monitor memMonitor

type memMonitor struct {
	mu      sync.Mutex
	watches map[*memWatch]struct{}
	running bool
}

func (m *memMonitor) add(w *memWatch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watches == nil {
		m.watches = map[*memWatch]struct{}{}
	}
	m.watches[w] = struct{}{}
	if !m.running {
		m.running = true
		go m.run()
	}
}

func (m *memMonitor) remove(w *memWatch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.watches, w)
}

// snapshot returns the watches, or nil, ending the goroutine, when there
// are none.
func (m *memMonitor) snapshot() []*memWatch {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.watches) == 0 {
		m.running = false
		return nil
	}
	ws := make([]*memWatch, 0, len(m.watches))
	for w := range m.watches {
		ws = append(ws, w)
	}
	return ws
}

func (m *memMonitor) run() {
	tick := time.NewTicker(memTick)
	defer tick.Stop()
	// A collection is forced before a round, as garbage is not pressure;
	// while the heap stays above a budget with nothing raised, forced
	// collections back off up to 2 s apart.
	var nextGC time.Time
	backoff := 100 * time.Millisecond
	for range tick.C {
		ws := m.snapshot()
		if ws == nil {
			return
		}
		heap := int64(heapBytes())
		over := false
		for _, w := range ws {
			over = over || heap > w.budget
		}
		now := time.Now()
		if over && !now.Before(nextGC) {
			runtime.GC()
			heap = int64(heapBytes())
			now = time.Now()
		}
		stillOver, raised := false, false
		for _, w := range ws {
			if heap <= w.budget {
				w.pressed = false
				continue
			}
			stillOver = true
			raised = w.press(now) || raised
		}
		switch {
		case !stillOver:
			backoff = 100 * time.Millisecond
			nextGC = time.Time{}
		case raised:
			nextGC = time.Time{}
		case !now.Before(nextGC):
			nextGC = now.Add(backoff)
			backoff = min(2*backoff, 2*time.Second)
		}
	}
}

// press notes that the heap is above w's budget: the first time, a round
// begins at a quarter of the budget; after a round that raised a state,
// another at the same limit (what it held may not be collected yet); after
// a round that found no state over its limit, one at half the limit. It
// reports whether the round that ended raised a state.
func (w *memWatch) press(now time.Time) bool {
	if !w.pressed {
		w.pressed = true
		w.limit.Store(max(w.budget/4, 1))
		w.raised.Store(0)
		w.since = now
		w.round.Add(1)
		return false
	}
	if w.measuring.Load() > 0 || now.Sub(w.since) < memRoundPause {
		return false
	}
	raised := w.raised.Swap(0) > 0
	if !raised {
		w.limit.Store(max(w.limit.Load()/2, w.budget/64, 1))
	}
	w.since = now
	w.round.Add(1)
	return raised
}

// A memCtx is the context of a state's instruction loop when its runtime
// has a budget: ctx for everything else, and the budget's check before
// each instruction. Blocking calls get ctx itself (ctxOf), so the check
// runs on the goroutine of the state's code and nowhere else.
type memCtx struct {
	context.Context
	w *memWatch
	s *state
	L *glua.LState
}

// Done is ctx's Done channel, once the budget's check has passed. The
// check runs only when the caller is gopher-lua's instruction loop, which
// runs on the state's goroutine: a program's module may hand L.Context()
// to a goroutine of its own, and the walk must not run there.
func (c *memCtx) Done() <-chan struct{} {
	if r := c.w.round.Load(); r != c.s.memRound.Load() && calledByVM() {
		c.check(r)
	}
	return c.Context.Done()
}

// calledByVM reports whether memCtx.Done's caller is gopher-lua's
// instruction loop. Only under pressure: it costs a stack walk.
func calledByVM() bool {
	var pc [1]uintptr
	if runtime.Callers(3, pc[:]) < 1 {
		return false
	}
	f := runtime.FuncForPC(pc[0] - 1)
	return f != nil && f.Name() == vmLoop
}

// vmLoop is the function whose calls of Done are the budget's checks.
const vmLoop = "github.com/yuin/gopher-lua.mainLoopWithContext"

// check measures c's state in round r, once, and raises "not enough
// memory" in c.L when it holds more than the round's limit.
func (c *memCtx) check(r uint64) {
	old := c.s.memRound.Load()
	if old == r || !c.s.memRound.CompareAndSwap(old, r) {
		return
	}
	c.w.measuring.Add(1)
	over := c.s.holds(c.L, c.w.limit.Load())
	c.w.measuring.Add(-1)
	if over {
		c.w.raised.Add(1)
		c.L.Error(glua.LString(errNoMemory), 0)
	}
}

// errNoMemory is Lua 5.1's message for a failed allocation.
const errNoMemory = "not enough memory"

// setContext makes ctx the context of L, a state (or thread) of s: what
// its blocking calls honour, and, with a budget, the check before each
// instruction.
func (s *state) setContext(L *glua.LState, ctx context.Context) {
	if c, ok := ctx.(*memCtx); ok {
		ctx = c.Context
	}
	w := s.rt.mem
	if w == nil {
		L.SetContext(ctx)
		return
	}
	if c, ok := L.Context().(*memCtx); ok && c.L == L {
		if c.Context != ctx {
			c.Context = ctx
		}
		return
	}
	L.SetContext(&memCtx{Context: ctx, w: w, s: s, L: L})
}

// watchThread gives a coroutine's thread, made by gopher-lua with a
// context derived from its creator's, the budget's check of its own.
func watchThread(L *glua.LState, th *glua.LState) {
	if ctx := th.Context(); ctx != nil {
		s := stateOf(L)
		if s.rt.mem != nil {
			th.SetContext(&memCtx{Context: ctx, w: s.rt.mem, s: s, L: th})
		}
	}
}
