package lua

import (
	"io"
	"os"
	"path/filepath"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// traceSinks are a runtime's wire-trace destinations: stderr and files,
// one Tracer each, so that every connection tracing to the same place
// shares its lock and their dumps never interleave.
type traceSinks struct {
	mu     sync.Mutex
	stderr *engine.Tracer
	files  map[string]*engine.Tracer
	all    *engine.Tracer // set by socket.trace: every new connection's
}

// stderrWriter writes to the runtime's stderr as it is at each write (the
// REPL redirects it), under the runtime's output lock.
type stderrWriter struct{ rt *Runtime }

func (w stderrWriter) Write(p []byte) (int, error) {
	w.rt.outMu.Lock()
	defer w.rt.outMu.Unlock()
	return w.rt.stderr.Write(p)
}

// tracer returns the runtime's Tracer for path, stderr when path is "".
// A file is opened for appending and created when missing.
func (rt *Runtime) tracer(path string) (*engine.Tracer, error) {
	s := &rt.traces
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		if s.stderr == nil {
			s.stderr = engine.NewTracer(stderrWriter{rt})
		}
		return s.stderr, nil
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if t, ok := s.files[path]; ok {
		return t, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if s.files == nil {
		s.files = map[string]*engine.Tracer{}
	}
	t := engine.NewTracer(f)
	s.files[path] = t
	return t, nil
}

// TraceAll traces every connection the runtime makes from now on to w
// (nil: the runtime's stderr), as wirelab run --trace does.
func (rt *Runtime) TraceAll(w io.Writer) {
	var t *engine.Tracer
	if w == nil {
		t, _ = rt.tracer("")
	} else {
		t = engine.NewTracer(w)
	}
	rt.traces.mu.Lock()
	rt.traces.all = t
	rt.traces.mu.Unlock()
}

// traceNew gives a connection the runtime's trace, if socket.trace set
// one, unless it has its own already.
func (rt *Runtime) traceNew(c *engine.Conn) {
	rt.traces.mu.Lock()
	t := rt.traces.all
	rt.traces.mu.Unlock()
	if t != nil && c.Tracer() == nil {
		c.SetTracer(t)
	}
}

// traceArg reads the argument of socket.trace and c:trace: true (stderr),
// false or nil (off), or {to = path}.
func traceArg(L *glua.LState, n int, fname string) (*engine.Tracer, bool) {
	switch v := L.Get(n).(type) {
	case glua.LBool:
		if !v {
			return nil, false
		}
		t, _ := stateOf(L).rt.tracer("")
		return t, true
	case *glua.LNilType:
		return nil, false
	case *glua.LTable:
		checkOptionKeys(L, n, fname, v, "to")
		path := optString(L, v, "to", "")
		t, err := stateOf(L).rt.tracer(path)
		if err != nil {
			L.ArgError(n, "trace: "+err.Error())
		}
		return t, true
	}
	L.ArgError(n, "true, false or {to = path} expected, got "+L.Get(n).Type().String())
	return nil, false
}

func socketTrace(L *glua.LState) int {
	t, _ := traceArg(L, 1, "trace")
	rt := stateOf(L).rt
	rt.traces.mu.Lock()
	rt.traces.all = t
	rt.traces.mu.Unlock()
	return 0
}

func connTrace(L *glua.LState) int {
	c := checkConn(L, 1)
	t, _ := traceArg(L, 2, "trace")
	c.SetTracer(t)
	return 0
}
