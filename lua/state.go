package lua

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/lua/internal/lua51"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// stateOptions keep a state small: a server holds one per connection.
// The data stack starts small and grows on demand; the call stack grows
// and shrinks with use, up to maxDepth frames (Lua 5.1 overflows near
// 16,000 for the simplest recursion). gopher-lua sizes an index of the
// call stack's segments by the limit when a state is made: 8 bytes per 8
// frames, 12 KiB for maxDepth, in every state. A connection's handler
// gets handlerDepth unless socket.serve's max_depth says otherwise.
var stateOptions = glua.Options{
	CallStackSize:       maxDepth,
	RegistrySize:        128,
	RegistryMaxSize:     256 * 1024,
	RegistryGrowStep:    128,
	MinimizeStackMemory: true,
	SkipOpenLibs:        true,
}

const (
	maxDepth     = 12000
	handlerDepth = 1000
)

// A module is a library loaded into a state: a table of functions, each
// with the doc string that help() shows.
type module struct {
	name  string
	doc   string
	funcs []fn
	// setup adds non-function fields (json.null) after the functions.
	setup func(L *glua.LState, mod *glua.LTable)
}

// An fn is one function of a module or method of a class.
type fn struct {
	name string
	f    glua.LGFunction
	doc  string // "signature -- what it does"
}

// lazyGlobals maps each global that is loaded on first use to its library.
var lazyGlobals = map[string]string{"module": glua.LoadLibName}

// A state's *state lives in its registry at index 1: the array part,
// which costs no map (a string key would cost half a kilobyte per state).

// A state is the Go side of one Lua state.
type state struct {
	rt *Runtime
	L  *glua.LState
	// life ends with the task (or the runtime, for a main script or the
	// prompt) that the state runs: what it owns, such as the processes it
	// spawned, goes then.
	life context.Context
	// builtins maps the library values of the state to their global paths
	// ("print", "string.format"), for transfer; made on first need
	// (builtinMap), forgotten when a library opens. libs lists the
	// libraries opened.
	builtins map[glua.LValue]string
	libs     []string
	// poisoned are the globals a task could not get from its parent,
	// with the reason; classes are the copies of classes received.
	poisoned map[string]string
	classes  map[string]glua.LValue
	// threads are idle threads for protected calls (pcall.go), running
	// the ones under way, innermost last.
	threads []*thread
	running []*thread
	// namer is the message handler of the state's protected calls
	// (errname.go), made on first need.
	namer *glua.LFunction
	// nesting counts protected calls and coroutine resumes under way.
	nesting int
	// removed are the library globals the script set to nil before they
	// loaded: they stay nil. gc is what collectgarbage remembers.
	removed map[string]bool
	gc      gcState
	// memRound is the last round of the memory budget's pressure in
	// which the state measured itself (memory.go).
	memRound atomic.Uint64
}

// stateOf returns the Go side of L.
func stateOf(L *glua.LState) *state {
	if ud, ok := L.G.Registry.RawGetInt(1).(*glua.LUserData); ok {
		if s, ok := ud.Value.(*state); ok {
			return s
		}
	}
	L.RaiseError("wirelab: this state's registry lost its slot 1")
	return nil
}

// ctxOf returns the context that L's blocking calls honour.
func ctxOf(L *glua.LState) context.Context {
	switch ctx := L.Context().(type) {
	case nil:
		return context.Background()
	case *memCtx:
		return ctx.Context
	default:
		return ctx
	}
}

// newState returns a fresh state whose blocking calls honour ctx. Its
// globals and libraries are views of the shared ones (libviews.go); the
// other libraries, and wirelab's modules, load when a script first names
// them.
func (rt *Runtime) newState(ctx context.Context) *glua.LState {
	return rt.newStateDepth(ctx, maxDepth)
}

// noContext, given to newState, makes a state with no context of its own:
// its blocking calls honour the runtime's, and the VM checks no context
// between instructions (the library template, memory measurements).
var noContext context.Context

// newStateDepth is newState with a call stack of depth frames.
func (rt *Runtime) newStateDepth(ctx context.Context, depth int) *glua.LState {
	sh := shared()
	o := stateOptions
	o.CallStackSize = depth
	L := glua.NewState(o)
	// gopher-lua presizes the globals and the registry for a full set of
	// libraries (7 KiB); a state starts with neither.
	L.G.Global, L.G.Registry = L.CreateTable(0, 4), L.CreateTable(1, 0)
	L.Env = L.G.Global
	s := &state{rt: rt, L: L, life: ctx}
	if ctx == nil {
		s.life = rt.ctx
	}
	ud := L.NewUserData()
	ud.Value = s
	L.G.Registry.RawSetInt(1, ud)
	L.G.Global.Metatable = sh.globalMeta
	L.SetMetatable(glua.LString(""), sh.stringMeta)
	if rt.omit[glua.LoadLibName] {
		// No require, no module: the state gets its own globals.
		materialize(L, L.G.Global)
		L.G.Global.RawSetString("require", glua.LNil)
		L.G.Global.RawSetString("module", glua.LNil)
	}
	if ctx != nil {
		s.setContext(L, ctx)
	}
	return L
}

// A template is what a fresh state with every library opened holds, once
// per process: the code of each library function, by global path, and the
// values of the other fields. A value of a state is a builtin if it is
// found at a path where the template has the same: a function the script
// put there (print = io.write) is found under its own path, and a script
// cannot make a Go function of its own.
type template struct {
	code     map[string]uintptr     // path -> a Go function's code
	values   map[string]glua.LValue // path -> a number, string or boolean
	userdata map[string]bool        // paths of userdata (io.stdout, json.null)
}

var libTemplate = sync.OnceValue(func() *template {
	rt := newRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard, MaxMemory: -1})
	L := rt.newState(noContext)
	defer L.Close()
	for name := range gopherLibs {
		loadLib(L, name)
	}
	for name := range modules {
		loadLib(L, name)
	}
	t := &template{code: map[string]uintptr{}, values: map[string]glua.LValue{}, userdata: map[string]bool{}}
	note := func(path string, v glua.LValue) {
		switch v := v.(type) {
		case *glua.LFunction:
			if v.IsG {
				t.code[path] = codeOf(v)
			}
		case glua.LNumber, glua.LString, glua.LBool:
			t.values[path] = v
		case *glua.LUserData:
			t.userdata[path] = true
		}
	}
	s := stateOf(L)
	s.eachLibField(func(path string, v glua.LValue) { note(path, v) })
	return t
})

// codeOf returns the code of a Go function.
func codeOf(f *glua.LFunction) uintptr { return reflect.ValueOf(f.GFunction).Pointer() }

// eachLibField calls f with the path and value of every field of the
// libraries opened, their tables first, then of every global.
func (s *state) eachLibField(f func(path string, v glua.LValue)) {
	g := s.L.G.Global
	for _, lib := range s.libs {
		if tbl, ok := g.RawGetString(lib).(*glua.LTable); ok {
			eachField(s.L, tbl, func(k, v glua.LValue) {
				if key, ok := k.(glua.LString); ok {
					f(lib+"."+string(key), v)
				}
			})
		}
	}
	eachField(s.L, g, func(k, v glua.LValue) {
		if key, ok := k.(glua.LString); ok {
			f(string(key), v)
		}
	})
}

// builtinMap returns the state's library values by identity: the library
// tables, and the functions and userdata found where the template has
// them.
func (s *state) builtinMap() map[glua.LValue]string {
	if s.builtins != nil {
		return s.builtins
	}
	t := libTemplate()
	g := s.L.G.Global
	m := map[glua.LValue]string{g: "_G"}
	for _, lib := range s.libs {
		if tbl, ok := g.RawGetString(lib).(*glua.LTable); ok {
			m[tbl] = lib
		}
	}
	s.eachLibField(func(path string, v glua.LValue) {
		if _, taken := m[v]; taken {
			return
		}
		switch v := v.(type) {
		case *glua.LFunction:
			code, ok := t.code[path]
			if !ok {
				code, ok = s.rt.customCode[path]
			}
			if ok && v.IsG && codeOf(v) == code {
				m[v] = path
			}
		case *glua.LUserData:
			if t.userdata[path] {
				m[v] = path
			}
		}
	})
	s.builtins = m
	return m
}

// isBuiltin reports whether v is what the libraries put at path.
func (s *state) isBuiltin(path string, v glua.LValue) bool {
	switch v.(type) {
	case glua.LNumber, glua.LString, glua.LBool:
		return libTemplate().values[path] == v
	}
	return s.builtinMap()[v] == path
}

// lazyRequire is require: it loads the package library, which the base
// library's require needs, on first use.
func lazyRequire(L *glua.LState) int {
	if L.G.Registry.RawGetString("_LOADERS") == glua.LNil {
		loadLib(L, glua.LoadLibName)
	}
	L.Insert(shared().require, 1)
	L.Call(L.GetTop()-1, 1)
	return 1
}

// lazyIndex is _G's __index: it loads a library the first time a script
// names its global, then steps aside (the global is set for real).
// A global that the task could not copy from its parent raises an error
// that says so.
func lazyIndex(L *glua.LState) int {
	name, ok := L.Get(2).(glua.LString)
	if !ok {
		return 0
	}
	if name == "_G" && L.G.Global.Metatable == shared().globalMeta {
		L.Push(L.G.Global)
		return 1
	}
	v := loadLib(L, string(name))
	if v == glua.LNil {
		if why, ok := stateOf(L).poisoned[string(name)]; ok {
			L.RaiseError("global '%s' is not available in this task: %s", name, why)
		}
	}
	L.Push(v)
	return 1
}

// loadLib loads the library that provides the global name and returns the
// global's value, or nil when no library does.
func loadLib(L *glua.LState, name string) glua.LValue {
	s := stateOf(L)
	if s.removed[name] || slices.Contains(s.libs, name) {
		// Set to nil by the script, or loaded and then set to nil.
		return L.G.Global.RawGetString(name)
	}
	if _, ok := shared().libs[name]; ok && !s.rt.omit[name] {
		tbl := newView(L, name)
		L.G.Global.RawSetString(name, tbl)
		s.libs, s.builtins = append(s.libs, name), nil
		return tbl
	}
	if m, ok := s.rt.module(name); ok {
		tbl := openModule(L, m)
		L.G.Global.RawSetString(name, tbl)
		s.libs, s.builtins = append(s.libs, name), nil
		return tbl
	}
	lib := name
	if l, ok := lazyGlobals[name]; ok {
		lib = l
	}
	_, ok := gopherLibs[lib]
	if !ok || s.rt.omit[lib] {
		return glua.LNil
	}
	if L.G.Global.RawGetString(lib) == glua.LNil {
		openLib(L, lib)
		s.libs, s.builtins = append(s.libs, lib), nil
		if lib == glua.LoadLibName {
			preloadModules(L)
		}
	}
	return L.G.Global.RawGetString(name)
}

// preloadModules makes require("socket") and the like return the global,
// and require("exec_fixed_server") load a script of Options.Scripts as a
// module.
func preloadModules(L *glua.LState) {
	// L.PreloadModule finds package through the running function's
	// environment, which for a shared function is not L's (libviews.go).
	pkg, _ := L.G.Global.RawGetString(glua.LoadLibName).(*glua.LTable)
	preload, ok := L.GetField(pkg, "preload").(*glua.LTable)
	if pkg == nil || !ok {
		return
	}
	add := func(name string, f glua.LGFunction) { preload.RawSetString(name, L.NewFunction(f)) }
	// require("string") and the like return the libraries, loading them
	// first if the script has not used them yet.
	for _, name := range []string{"_G", glua.StringLibName, glua.TabLibName, glua.MathLibName,
		glua.IoLibName, glua.OsLibName, glua.CoroutineLibName, glua.DebugLibName, glua.LoadLibName} {
		if stateOf(L).rt.omit[name] {
			continue
		}
		add(name, func(L *glua.LState) int {
			L.Push(L.GetGlobal(name))
			return 1
		})
	}
	rt := stateOf(L).rt
	for _, name := range rt.moduleNames() {
		add(name, func(L *glua.LState) int {
			L.Push(L.GetGlobal(name))
			return 1
		})
	}
	rt.addScriptLoader(L)
}

// openModule builds m's table in L.
func openModule(L *glua.LState, m *module) *glua.LTable {
	tbl := L.CreateTable(0, len(m.funcs)+2)
	for _, f := range m.funcs {
		tbl.RawSetString(f.name, L.NewFunction(f.f))
	}
	if m.setup != nil {
		m.setup(L, tbl)
	}
	// A field the module lacks raises, naming the likely one (suggest.go).
	tbl.Metatable = moduleMetas()[m.name]
	return tbl
}

// GlobalNames returns the globals a script can name, loaded or not, for
// completion.
func GlobalNames(L *glua.LState) []string {
	seen := map[string]bool{}
	eachField(L, L.G.Global, func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); ok {
			seen[string(s)] = true
		}
	})
	rt := stateOf(L).rt
	for _, name := range rt.moduleNames() {
		seen[name] = true
	}
	for name := range gopherLibs {
		if !rt.omit[name] {
			seen[name] = true
		}
	}
	for name := range shared().libs {
		if !rt.omit[name] {
			seen[name] = true
		}
	}
	seen["_G"] = true
	for name, lib := range lazyGlobals {
		if !rt.omit[lib] {
			seen[name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// print is Lua's print, writing through the runtime's Stdout so that lines
// from concurrent tasks do not interleave.
func (s *state) print(L *glua.LState) int {
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(lua51.TostringValue(L, L.Get(i)))
	}
	b.WriteByte('\n')
	s.rt.writeOut(b.String())
	return 0
}

// A Runtime is one run of wirelab: the main script's state, every task and
// server it starts, and what they share. NewRuntime makes one, Run or
// RunFile runs a script in it, Close ends it (runtime.go).
type Runtime struct {
	ctx    context.Context
	cancel context.CancelFunc

	outMu  sync.Mutex
	stdout io.Writer
	stderr io.Writer

	dicts        engine.Registry
	maxString    int64
	patternSteps int64     // 0: none
	mem          *memWatch // nil: no memory budget

	mu      sync.Mutex
	active  int
	idle    chan struct{} // closed and replaced when active drops to 0
	servers map[*Server]struct{}
	procs   map[*engine.Process]struct{} // spawned and not reaped yet
	// unwaited are the failed tasks nobody has waited for yet.
	unwaited unwaited
	traces   traceSinks // wire-trace destinations (socket_trace.go)
	// insecure says once a run that a connection skips TLS verification.
	insecure sync.Once

	// What the Options chose: the libraries left out, the program's own
	// modules, where scripts are found, what os.exit does, the standard
	// files of commands (os.execute) and of term's line input.
	omit         map[string]bool
	custom       map[string]*module
	customNames  []string
	customCode   map[string]uintptr // "greet.hello" -> its Go code
	scripts      fs.FS
	exit         func(code int)
	stdin        io.Reader
	procOut      io.Writer
	procErr      io.Writer
	lines        *lineReader
	closeTimeout time.Duration

	// The main state, where Run, RunFile and Call run; busy is held by the
	// call under way, interrupt cancels it.
	main      *glua.LState
	busy      chan struct{}
	interrupt context.CancelFunc
	closeOnce sync.Once
}

// SetOutput redirects print and error reports, as the REPL does to keep
// background output off the line being edited.
func (rt *Runtime) SetOutput(stdout, stderr io.Writer) {
	rt.outMu.Lock()
	defer rt.outMu.Unlock()
	rt.stdout, rt.stderr = stdout, stderr
}

func (rt *Runtime) writeOut(s string) {
	rt.outMu.Lock()
	defer rt.outMu.Unlock()
	io.WriteString(rt.stdout, s)
}

// reportf writes a report line (or lines) to the runtime's stderr.
func (rt *Runtime) reportf(format string, args ...any) {
	rt.outMu.Lock()
	defer rt.outMu.Unlock()
	fmt.Fprintf(rt.stderr, format, args...)
}

// NewState returns a state for a main script or a REPL, whose blocking
// calls honour ctx (rt.Context() for the runtime's own; nil means that too). Close it when done.
func (rt *Runtime) NewState(ctx context.Context) *glua.LState {
	if ctx == nil {
		ctx = rt.ctx
	}
	return rt.newState(ctx)
}

// Context returns the runtime's context, cancelled by Close.
func (rt *Runtime) Context() context.Context { return rt.ctx }

// begin counts one task or server as running.
func (rt *Runtime) begin() {
	rt.mu.Lock()
	rt.active++
	rt.mu.Unlock()
}

// end counts one task or server as finished.
func (rt *Runtime) end() {
	rt.mu.Lock()
	rt.active--
	if rt.active == 0 {
		close(rt.idle)
		rt.idle = make(chan struct{})
	}
	rt.mu.Unlock()
}

// Wait blocks until no task or server is left, or ctx is done.
func (rt *Runtime) Wait(ctx context.Context) error {
	for {
		rt.mu.Lock()
		n, idle := rt.active, rt.idle
		rt.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
