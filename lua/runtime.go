package lua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"
	xterm "golang.org/x/term"

	"github.com/wirelab/wirelab/engine"
)

// Options configure a Runtime. The zero value gives scripts every library
// and module and the process's standard files, and keeps os.exit from
// ending the process; the wirelab command adds its bundled scripts
// (Scripts) and an os.exit that ends the process (Exit).
type Options struct {
	// Stdout receives print; Stderr the reports of failed tasks and
	// handlers and the progress bars. Default os.Stdout and os.Stderr.
	// gopher-lua's io library keeps the process's own files: io.write and
	// io.stdout write to os.Stdout whatever Stdout is.
	Stdout io.Writer
	Stderr io.Writer
	// Stdin is what term.readline, term.readpass and term.lines read, and
	// loadfile() and dofile() without a name. Default os.Stdin, read by one
	// reader for the whole process. os.execute's commands get Stdin,
	// Stdout and Stderr as given here (the process's files by default).
	Stdin io.Reader
	// MaxString is the longest string that string.rep, string.format,
	// table.concat and the like may build, in bytes; past it they raise
	// "string too large" instead of exhausting memory. Default
	// DefaultMaxString.
	MaxString int64
	// MaxPatternSteps bounds the work of one call of string.find, match,
	// gsub or of a gmatch iterator: a call may take this many steps of the
	// pattern matcher (an item tried at a position, a byte scanned), and
	// 64 more for each byte of its subject, before it raises "pattern too
	// complex". A pattern such as ".-.-.-.-.-b" would otherwise run for
	// hours on 100 KB. 0: DefaultMaxPatternSteps; negative: no limit.
	MaxPatternSteps int64
	// MaxMemory is the memory budget, in bytes of Go's heap, which every
	// state of the runtime shares with the rest of the process. When the
	// heap stays above it after a collection, the states running Lua code
	// that hold the most get "not enough memory", raised where their code
	// stands (pcall catches it, as in Lua 5.1), so that one script's
	// runaway table or million coroutines end that script's task and not
	// the process with every connection in it (memory.go says how). 0:
	// DefaultMaxMemory(); negative: no budget.
	MaxMemory int64
	// Omit names the libraries and modules to leave out, in every state of
	// the runtime (the main script, tasks and handlers): their globals are
	// nil and require fails for them. Any of wirelab's modules (socket,
	// exec, task, ...) and of the libraries math, io, os, coroutine, debug
	// and package (which takes require and module along) can go; base,
	// string and table stay. Leaving out "exec" also removes the other ways
	// to start a process, os.execute and io.popen: a runtime without exec
	// cannot run a program. Files stay reachable through dofile, loadfile,
	// socket's send_file and recv_file and hash.file unless io, os, socket
	// and hash are omitted as well.
	Omit []string
	// Modules are the program's own modules, set up in every state as
	// wirelab's are.
	Modules []Module
	// Scripts is where scripts are found by name: require("a.b") loads
	// a/b.lua from it (after the modules), and RunFile runs name.lua from
	// it when no file called name exists. The wirelab command passes its
	// bundled scripts. nil: none.
	Scripts fs.FS
	// Exit is what os.exit(code) does. nil: it raises an error that ends
	// the call with an *ExitError (Run returns it; in a task, the task
	// fails), so a script cannot end the program that embeds it.
	Exit func(code int)
	// CloseTimeout bounds how long Close waits for tasks and handlers to
	// stop once interrupted. Default 2 s.
	CloseTimeout time.Duration
}

// A Module is a library of Go functions that a program adds to a runtime
// with Options.Modules. Scripts see it as the global Name, which
// require(Name) returns too, in the main script and in every task and
// connection handler, which run in states of their own. The functions
// are gopher-lua's: they read their arguments from L (L.CheckString(1))
// and push their results, returning how many. They may run on many
// goroutines at once, one per state.
type Module struct {
	Name  string
	Doc   string // one line, shown by help()
	Funcs map[string]glua.LGFunction
}

// DefaultMaxString is the default Options.MaxString: 1 GiB.
const DefaultMaxString = 1 << 30

// DefaultMaxPatternSteps is the default Options.MaxPatternSteps, about a
// second of one idle core: far more than a pattern whose work grows with
// its subject's length alone ever needs.
const DefaultMaxPatternSteps = 100_000_000

// DefaultMaxMemory is the default Options.MaxMemory: half the machine's
// memory, or of the memory its control group may use when that is less;
// 4 GiB where neither can be read.
func DefaultMaxMemory() int64 {
	if n := machineMemory(); n > 0 {
		return n / 2
	}
	return 4 << 30
}

// DefaultCloseTimeout is the default Options.CloseTimeout.
const DefaultCloseTimeout = 2 * time.Second

// maxString returns the string size limit of L's runtime.
func maxString(L *glua.LState) int64 { return stateOf(L).rt.maxString }

// omittable are the libraries that Options.Omit may name, besides
// wirelab's modules.
var omittable = map[string]bool{glua.MathLibName: true, glua.IoLibName: true, glua.OsLibName: true,
	glua.CoroutineLibName: true, glua.DebugLibName: true, glua.LoadLibName: true}

// NewRuntime returns a runtime whose tasks and servers live until ctx is
// cancelled or Close is called. It panics when o names a library or
// module that does not exist in Omit, or gives a module without a name,
// with a name that is not a Lua identifier, or one that another module or
// library already has (unless that one is omitted): a sandbox that leaves
// in what it meant to leave out must not start.
func NewRuntime(ctx context.Context, o Options) *Runtime {
	omit := map[string]bool{}
	for _, name := range o.Omit {
		if _, ok := modules[name]; !ok && !omittable[name] {
			panic(fmt.Sprintf("lua.NewRuntime: cannot omit %q: only math, io, os, coroutine, debug, package and wirelab's modules can go", name))
		}
		omit[name] = true
	}
	seen := map[string]bool{}
	for _, m := range o.Modules {
		_, taken := modules[m.Name]
		taken = taken && !omit[m.Name] || omittable[m.Name] && !omit[m.Name] || seen[m.Name] ||
			m.Name == glua.StringLibName || m.Name == glua.TabLibName || isBaseGlobal(m.Name)
		switch {
		case !isIdentifier(m.Name):
			panic(fmt.Sprintf("lua.NewRuntime: module name %q is not a Lua name", m.Name))
		case taken:
			panic(fmt.Sprintf("lua.NewRuntime: a module called %q exists already", m.Name))
		}
		seen[m.Name] = true
	}
	return newRuntime(ctx, o)
}

// newRuntime is NewRuntime without the checks of o, which need the
// library template, itself made with a runtime.
func newRuntime(ctx context.Context, o Options) *Runtime {
	rt := &Runtime{idle: make(chan struct{}), servers: map[*Server]struct{}{}, procs: map[*engine.Process]struct{}{},
		stdout: o.Stdout, stderr: o.Stderr, maxString: o.MaxString, patternSteps: o.MaxPatternSteps,
		omit: map[string]bool{}, custom: map[string]*module{}, customCode: map[string]uintptr{}, scripts: o.Scripts,
		exit: o.Exit, stdin: o.Stdin, procOut: o.Stdout, procErr: o.Stderr,
		closeTimeout: o.CloseTimeout, busy: make(chan struct{}, 1)}
	for _, name := range o.Omit {
		rt.omit[name] = true
	}
	for i := range o.Modules {
		m := &o.Modules[i]
		rt.custom[m.Name] = customModule(m)
		rt.customNames = append(rt.customNames, m.Name)
		for name, f := range m.Funcs {
			rt.customCode[m.Name+"."+name] = reflect.ValueOf(f).Pointer()
		}
	}
	sort.Strings(rt.customNames)
	if rt.maxString <= 0 {
		rt.maxString = DefaultMaxString
	}
	switch {
	case rt.patternSteps == 0:
		rt.patternSteps = DefaultMaxPatternSteps
	case rt.patternSteps < 0:
		rt.patternSteps = 0 // none
	}
	if rt.closeTimeout <= 0 {
		rt.closeTimeout = DefaultCloseTimeout
	}
	if rt.stdout == nil {
		rt.stdout, rt.procOut = os.Stdout, os.Stdout
	}
	if rt.stderr == nil {
		rt.stderr, rt.procErr = os.Stderr, os.Stderr
	}
	if rt.stdin == nil {
		rt.stdin, rt.lines = os.Stdin, &stdinLines
	} else {
		rt.lines = &lineReader{in: rt.stdin}
	}
	rt.ctx, rt.cancel = context.WithCancel(ctx)
	switch {
	case o.MaxMemory == 0:
		rt.mem = newMemWatch(rt.ctx, DefaultMaxMemory())
	case o.MaxMemory > 0:
		rt.mem = newMemWatch(rt.ctx, o.MaxMemory)
	}
	return rt
}

// isBaseGlobal reports whether name is a global that every state has
// (print, _G, arg), which a module cannot be.
func isBaseGlobal(name string) bool {
	t := libTemplate()
	_, code := t.code[name]
	_, value := t.values[name]
	_, lazy := lazyGlobals[name]
	return code || value || t.userdata[name] || lazy || name == "_G" || name == "arg"
}

// isIdentifier reports whether s is a Lua name.
func isIdentifier(s string) bool {
	if s == "" || IsKeyword(s) || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// module returns the module that provides the global name in rt: one of
// the program's, or one of wirelab's that is not omitted.
func (rt *Runtime) module(name string) (*module, bool) {
	if m, ok := rt.custom[name]; ok {
		return m, true
	}
	if m, ok := modules[name]; ok && !rt.omit[name] {
		return m, true
	}
	return nil, false
}

// customModule turns a program's Module into the form wirelab's own
// modules have, functions sorted by name.
func customModule(m *Module) *module {
	mod := &module{name: m.Name, doc: m.Doc}
	for name, f := range m.Funcs {
		mod.funcs = append(mod.funcs, fn{name: name, f: f})
	}
	sort.Slice(mod.funcs, func(i, j int) bool { return mod.funcs[i].name < mod.funcs[j].name })
	return mod
}

// moduleNames returns the names of the modules of rt, wirelab's and the
// program's.
func (rt *Runtime) moduleNames() []string {
	names := make([]string, 0, len(modules)+len(rt.custom))
	for name := range modules {
		if !rt.omit[name] && rt.custom[name] == nil {
			names = append(names, name)
		}
	}
	names = append(names, rt.customNames...)
	sort.Strings(names)
	return names
}

// restrict removes from a library just opened what the runtime leaves
// out: without exec, the functions that start processes; and it makes
// os.exit do what Options.Exit says.
func (rt *Runtime) restrict(L *glua.LState, lib string, tbl *glua.LTable) {
	switch lib {
	case glua.OsLibName:
		if rt.omit["exec"] {
			tbl.RawSetString("execute", glua.LNil)
		}
		tbl.RawSetString("exit", L.NewFunction(rt.osExit))
	case glua.IoLibName:
		if rt.omit["exec"] {
			tbl.RawSetString("popen", glua.LNil)
		}
	}
}

// osExit is os.exit([code]): true or nothing is 0, false 1.
func (rt *Runtime) osExit(L *glua.LState) int {
	if rt.exit == nil {
		return Exit(L)
	}
	code := 0
	switch v := L.Get(1).(type) {
	case glua.LNumber:
		code = int(v)
	case glua.LBool:
		if !v {
			code = 1
		}
	}
	rt.exit(code)
	return 0
}

// addScriptLoader puts the loader of Options.Scripts second among
// package.loaders, after the preloaded modules and before package.path.
func (rt *Runtime) addScriptLoader(L *glua.LState) {
	loaders, ok := L.G.Registry.RawGetString("_LOADERS").(*glua.LTable)
	if !ok || rt.scripts == nil {
		return
	}
	loaders.Insert(2, L.NewFunction(rt.loadScriptModule))
}

// loadScriptModule is the loader of require("a.b"): the chunk a/b.lua of
// Options.Scripts, or a message saying it is not there.
func (rt *Runtime) loadScriptModule(L *glua.LState) int {
	name := L.CheckString(1)
	file := strings.ReplaceAll(name, ".", "/") + ".lua"
	var src []byte
	err := fs.ErrNotExist
	if fs.ValidPath(file) {
		src, err = fs.ReadFile(rt.scripts, file)
	}
	if err != nil {
		L.Push(glua.LString(fmt.Sprintf("\n\tno script '%s' in the runtime's scripts", file)))
		return 1
	}
	fn, err := Load(L, src, name+".lua")
	if err != nil {
		L.RaiseError("error loading module '%s' from the runtime's scripts:\n\t%v", name, err)
	}
	L.Push(fn)
	return 1
}

// A Script is one script of Options.Scripts.
type Script struct {
	Name        string // what RunFile and require take
	Description string // its first line, a comment, without the "--"
}

// Scripts returns the scripts at the top of Options.Scripts, sorted by
// name.
func (rt *Runtime) Scripts() []Script {
	if rt.scripts == nil {
		return nil
	}
	entries, _ := fs.ReadDir(rt.scripts, ".")
	var out []Script
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".lua")
		if !ok || e.IsDir() {
			continue
		}
		src, _ := fs.ReadFile(rt.scripts, e.Name())
		first, _, _ := strings.Cut(string(src), "\n")
		desc := ""
		if strings.HasPrefix(first, "--") {
			desc = strings.TrimSpace(strings.TrimPrefix(first, "--"))
		}
		out = append(out, Script{Name: name, Description: desc})
	}
	return out
}

// ReadScript returns the source of the script file at name, or, when no
// such file exists and name is a plain name (no slash, no dot), of the
// script name.lua of Options.Scripts. A plain name found in neither gives a
// *ScriptNotFoundError; other failures the error of reading the file.
func (rt *Runtime) ReadScript(name string) ([]byte, error) {
	src, err := os.ReadFile(name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return src, err
	}
	plain := !strings.ContainsAny(name, "/.\\")
	if !plain {
		return nil, err
	}
	if rt.scripts != nil {
		if src, serr := fs.ReadFile(rt.scripts, path.Clean(name)+".lua"); serr == nil {
			return src, nil
		}
	}
	return nil, &ScriptNotFoundError{Name: name}
}

// State returns the runtime's main state, where Run, RunFile and Call run
// and the prompt evaluates; a program may set globals in it first. It is
// made on first use and closed by Close. Use it from one goroutine at a
// time, and not while a call runs in it.
func (rt *Runtime) State() *glua.LState {
	if rt.main == nil {
		rt.main = rt.newState(rt.ctx)
	}
	return rt.main
}

// Run compiles src as the main chunk named name (arg[0] and the name in
// tracebacks) and calls it in the main state with args as arg[1..n] and
// as "...". It returns when the chunk returns; the tasks and servers it
// started keep running (Wait waits for them). Errors: *ScriptError for a
// syntax error or a raised error (message and traceback), *ExitError
// when the script called os.exit (Options.Exit nil) or flags.parse
// handled --help.
func (rt *Runtime) Run(name string, src []byte, args ...string) error {
	if rt.ctx.Err() != nil {
		return &ScriptError{Msg: "interrupted"}
	}
	fn, vals, err := Prepare(rt.State(), name, src, args)
	if err != nil {
		return err
	}
	_, err = rt.Call(fn, vals...)
	return err
}

// RunFile runs the script that ReadScript finds for name, as Run does.
// A script that cannot be found or read gives the error of ReadScript,
// which is neither a *ScriptError nor an *ExitError.
func (rt *Runtime) RunFile(name string, args ...string) error {
	src, err := rt.ReadScript(name)
	if err != nil {
		return err
	}
	return rt.Run(name, src, args...)
}

// Call calls fn with args in the main state and returns its results.
// Interrupt interrupts it, as does the end of the runtime: its blocked
// call returns "interrupted" and its code stops. Errors are *ScriptError
// and *ExitError, as Run's.
func (rt *Runtime) Call(fn *glua.LFunction, args ...glua.LValue) ([]glua.LValue, error) {
	L := rt.State()
	select {
	case rt.busy <- struct{}{}:
		defer func() { <-rt.busy }()
	case <-rt.ctx.Done():
		return nil, &ScriptError{Msg: "interrupted"}
	}
	ctx, cancel := context.WithCancel(rt.ctx)
	rt.mu.Lock()
	rt.interrupt = cancel
	rt.mu.Unlock()
	s := stateOf(L)
	s.setContext(L, ctx)
	defer func() {
		rt.mu.Lock()
		rt.interrupt = nil
		rt.mu.Unlock()
		cancel()
		s.setContext(L, rt.ctx)
	}()
	return call(L, ctx, fn, args)
}

// Interrupt interrupts the call running in the main state, if any (the
// prompt's Ctrl-C); tasks and servers go on.
func (rt *Runtime) Interrupt() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.interrupt != nil {
		rt.interrupt()
	}
}

// Close ends the runtime, once, in one sequence: it cancels the context
// (every blocked call returns "interrupted", every task's code stops),
// closes every server, waits at most Options.CloseTimeout for tasks,
// handlers and the main call to finish, and closes the main state. What
// is still running then is reported on Stderr and left to finish alone.
// Later calls do nothing.
func (rt *Runtime) Close() {
	rt.closeOnce.Do(rt.close)
}

func (rt *Runtime) close() {
	rt.cancel()
	rt.mu.Lock()
	servers := make([]*Server, 0, len(rt.servers))
	for s := range rt.servers {
		servers = append(servers, s)
	}
	rt.mu.Unlock()
	for _, s := range servers {
		s.Close()
	}
	rt.killProcesses()
	ctx, cancel := context.WithTimeout(context.Background(), rt.closeTimeout)
	defer cancel()
	var words strings.Builder
	if rt.Wait(ctx) != nil {
		rt.mu.Lock()
		n := rt.active
		rt.mu.Unlock()
		fmt.Fprintf(&words, "wirelab: after %v, %d tasks or servers still running\n", rt.closeTimeout, n)
	}
	words.WriteString(rt.traces.closeCaptures())
	words.WriteString(rt.unwaited.flush())
	if words.Len() > 0 {
		rt.lastWords(words.String())
	}
	closeMain := func() {
		if rt.main != nil {
			rt.main.Close()
		}
	}
	select {
	case rt.busy <- struct{}{}:
		closeMain()
		return
	default:
	}
	select {
	case rt.busy <- struct{}{}:
		closeMain()
	case <-ctx.Done():
		rt.lastWords(fmt.Sprintf("wirelab: after %v, the main script still running\n", rt.closeTimeout))
	}
}

// lastWords reports what Close leaves running, waiting at most a second:
// what is stuck may be a print blocked on a full pipe, holding the output
// lock or blocking stderr itself, and Close must return all the same.
func (rt *Runtime) lastWords(msg string) {
	done := make(chan struct{})
	go func() {
		rt.reportf("%s", msg)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}

// stdinTerminal returns the descriptor of term's input and whether it is
// a terminal.
func (rt *Runtime) stdinTerminal() (int, bool) {
	f, ok := rt.stdin.(*os.File)
	if !ok {
		return -1, false
	}
	return int(f.Fd()), xterm.IsTerminal(int(f.Fd()))
}
