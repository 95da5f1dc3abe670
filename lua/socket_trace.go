package lua

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/engine/capture"
)

// traceSinks are a runtime's wire-trace destinations: stderr and files,
// one Tracer each, so that every connection tracing to the same place
// shares its lock and their dumps never interleave.
type traceSinks struct {
	mu       sync.Mutex
	stderr   *engine.Tracer
	files    map[string]*engine.Tracer
	opened   []*os.File                     // the files of files, closed with the runtime
	captures map[string]*engine.FileCapture // by absolute path
	all      *engine.Tracer                 // set by socket.trace: every new socket's
	// pinned is the capture of wirelab run --pcap (CaptureAll): every
	// socket's, whatever socket.trace and c:trace say after.
	pinned *engine.FileCapture
	// failed: a capture file was cut short by a write error.
	failed bool
}

// CaptureFailed reports, after Close, whether a capture file of the
// runtime was cut short by a write error (which Close said on stderr).
func (rt *Runtime) CaptureFailed() bool {
	rt.traces.mu.Lock()
	defer rt.traces.mu.Unlock()
	return rt.traces.failed
}

// withPinned is t with the runtime's pinned capture, if it has one.
func (rt *Runtime) withPinned(t *engine.Tracer) *engine.Tracer {
	rt.traces.mu.Lock()
	pinned := rt.traces.pinned
	rt.traces.mu.Unlock()
	switch {
	case pinned == nil || t != nil && t.Capturing() != nil:
		return t
	case t == nil:
		return engine.CaptureTracer(pinned)
	}
	return t.WithCapture(pinned)
}

// capture returns the runtime's capture file at path, created (or
// truncated) the first time the runtime names it.
func (rt *Runtime) capture(path string) (*engine.FileCapture, error) {
	s := &rt.traces
	s.mu.Lock()
	defer s.mu.Unlock()
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if f, ok := s.captures[path]; ok {
		return f, nil
	}
	f, err := capture.Create(path)
	if err != nil {
		return nil, err
	}
	if s.captures == nil {
		s.captures = map[string]*engine.FileCapture{}
	}
	c := engine.NewFileCapture(f)
	s.captures[path] = c
	return c, nil
}

// closeCaptures ends the runtime's capture and trace files, once its sockets are
// closed, and returns what to say of those that failed: a capture that
// stopped at a write error (a full disk) wrote nothing after it.
func (s *traceSinks) closeCaptures() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var words string
	for path, f := range s.captures {
		if err := f.Close(); err != nil {
			words += "wirelab: capture " + path + " is cut short: " + err.Error() + "\n"
			s.failed = true
		}
		delete(s.captures, path)
	}
	// The trace files too: left open, they outlived the runtime (and on
	// Windows kept their directory from being removed).
	for _, f := range s.opened {
		f.Close()
	}
	s.opened, s.files = nil, nil
	return words
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
	s.opened = append(s.opened, f)
	return t, nil
}

// TraceAll traces every connection the runtime makes from now on to w
// (nil: the runtime's stderr), as wirelab run --trace does.
func (rt *Runtime) TraceAll(w io.Writer) { rt.TraceAllAs(w, engine.TraceHex) }

// TraceAllAs is TraceAll showing the bytes in format f (wirelab run
// --trace=text).
func (rt *Runtime) TraceAllAs(w io.Writer, f engine.TraceFormat) {
	var t *engine.Tracer
	if w == nil {
		t, _ = rt.tracer("")
	} else {
		t = engine.NewTracer(w)
	}
	t = rt.withPinned(t.WithFormat(f))
	rt.traces.mu.Lock()
	defer rt.traces.mu.Unlock()
	rt.traces.all = t
}

// CaptureAll writes every socket the runtime makes from now on into the
// pcapng file at path, as wirelab run --pcap does, beside the trace
// TraceAll set, if any.
func (rt *Runtime) CaptureAll(path string) error {
	f, err := rt.capture(path)
	if err != nil {
		return err
	}
	rt.traces.mu.Lock()
	rt.traces.pinned = f
	rt.traces.mu.Unlock()
	t := rt.withPinned(rt.allTrace())
	rt.traces.mu.Lock()
	rt.traces.all = t
	rt.traces.mu.Unlock()
	return nil
}

// allTrace is the trace socket.trace set for new sockets, or nil.
func (rt *Runtime) allTrace() *engine.Tracer {
	rt.traces.mu.Lock()
	defer rt.traces.mu.Unlock()
	return rt.traces.all
}

// traceNew gives a connection the runtime's trace, if socket.trace set
// one, unless it has its own already.
func (rt *Runtime) traceNew(c *engine.Conn) {
	if t := rt.allTrace(); t != nil && c.Tracer() == nil {
		c.SetTracer(t)
	}
}

// traceArg reads the argument of socket.trace and c:trace: true (stderr),
// false or nil (off), or {to = path, format = "hex" or "text", pcap =
// path}: the dumps go to stderr or to the file to, and with pcap the
// traffic goes into that pcapng file too (with pcap alone, only there).
func traceArg(L *glua.LState, n int, fname string) (*engine.Tracer, bool) {
	return traceValue(L, L.Get(n), n, fname)
}

// traceValue is traceArg of v, argument n of fname.
func traceValue(L *glua.LState, v glua.LValue, n int, fname string) (*engine.Tracer, bool) {
	switch v := v.(type) {
	case glua.LBool:
		if !v {
			return nil, false
		}
		t, _ := stateOf(L).rt.tracer("")
		return t, true
	case *glua.LNilType:
		return nil, false
	case *glua.LTable:
		checkOptionKeys(L, n, fname, v, "to", "format", "pcap")
		rt := stateOf(L).rt
		path, pcap := optString(L, v, "to", ""), optString(L, v, "pcap", "")
		format := engine.TraceHex
		switch f := optString(L, v, "format", "hex"); f {
		case "hex":
		case "text":
			format = engine.TraceText
		default:
			L.ArgError(n, "option format: \"hex\" or \"text\" expected, got "+strconv.Quote(f))
		}
		var t *engine.Tracer
		if pcap == "" || path != "" || v.RawGetString("format") != glua.LNil {
			var err error
			if t, err = rt.tracer(path); err != nil {
				L.ArgError(n, "trace: "+err.Error())
			}
			if format != engine.TraceHex {
				t = t.WithFormat(format)
			}
		}
		if pcap != "" {
			f, err := rt.capture(pcap)
			if err != nil {
				L.ArgError(n, "trace: "+err.Error())
			}
			if t == nil {
				t = engine.CaptureTracer(f)
			} else {
				t = t.WithCapture(f)
			}
		}
		return t, true
	}
	L.ArgError(n, "true, false or {to = path, format = \"text\", pcap = path} expected, got "+v.Type().String())
	return nil, false
}

func socketTrace(L *glua.LState) int {
	t, _ := traceArg(L, 1, "trace")
	rt := stateOf(L).rt
	t = rt.withPinned(t)
	rt.traces.mu.Lock()
	rt.traces.all = t
	rt.traces.mu.Unlock()
	return 0
}

func connTrace(L *glua.LState) int {
	c := checkConn(L, 1)
	t, _ := traceArg(L, 2, "trace")
	c.SetTracer(stateOf(L).rt.withPinned(t))
	return 0
}

// connMark is c:mark(text): a comment on the next packet of c's capture.
func connMark(L *glua.LState) int {
	c, text := checkConn(L, 1), L.CheckString(2)
	if !c.Mark(text) {
		L.Push(glua.LNil)
		L.Push(glua.LString("not captured: trace it with {pcap = path} first"))
		return 2
	}
	L.Push(glua.LTrue)
	return 1
}

func udpTrace(L *glua.LState) int {
	u := checkUDP(L)
	t, _ := traceArg(L, 2, "trace")
	u.SetTracer(stateOf(L).rt.withPinned(t))
	return 0
}
