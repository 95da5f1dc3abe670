package lua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
	glua "github.com/yuin/gopher-lua"
)

// newTestRuntime returns a runtime with o whose output goes to buffers,
// closed when the test ends.
func newTestRuntime(t *testing.T, o Options) (rt *Runtime, stdout, stderr *testbin.Buffer) {
	t.Helper()
	stdout, stderr = &testbin.Buffer{}, &testbin.Buffer{}
	o.Stdout, o.Stderr = stdout, stderr
	rt = NewRuntime(context.Background(), o)
	t.Cleanup(rt.Close)
	return rt, stdout, stderr
}

// tryProcesses is a script that tries every way a script has to start a
// process, in the main state, in a task and in a connection handler;
// each would create the file arg[1]/NAME. It prints what it found.
const tryProcesses = `
local dir, windows = ...
-- touch makes an empty file: touch on Unix, type nul on Windows.
local function argv(path)
  if windows == "windows" then return {"cmd.exe", "/c", "type nul > " .. path} end
  return {"touch", path}
end
local function line(path)
  if windows == "windows" then return "type nul > " .. path end
  return "touch " .. path
end
local function try(where)
  local ways = {
    exec = function() return exec.run(argv(dir .. "/exec-" .. where)) end,
    require_exec = function() return require("exec").run(argv(dir .. "/rexec-" .. where)) end,
    loaded_exec = function() return package.loaded.exec.run(argv(dir .. "/lexec-" .. where)) end,
    g_exec = function() return _G["ex" .. "ec"].run(argv(dir .. "/gexec-" .. where)) end,
    execute = function() return os.execute(line(dir .. "/execute-" .. where)) end,
    require_execute = function() return require("os").execute(line(dir .. "/rexecute-" .. where)) end,
    popen = function() return io.popen(line(dir .. "/popen-" .. where)):close() end,
    require_popen = function() return require("io").popen(line(dir .. "/rpopen-" .. where)):close() end,
    loadstring = function() return loadstring("return os.execute")()(line(dir .. "/ls-" .. where)) end,
  }
  local ran = {}
  for name, f in pairs(ways) do
    if pcall(f) then ran[#ran + 1] = name end
  end
  table.sort(ran)
  return where .. ": " .. (#ran == 0 and "none" or table.concat(ran, ","))
end
print(try("main"))
print(select(2, task.spawn(try, "task"):wait()))
local results = task.channel(1)
local srv = assert(socket.serve("127.0.0.1", 0, function(c) results:send(try("handler")) end))
local c = assert(socket.connect("127.0.0.1", srv:port()))
print(results:recv(10))
c:close()
srv:close()
`

// TestSandboxWithoutExec: a runtime without exec cannot start a process,
// by exec, os.execute or io.popen, from the main script, a task or a
// handler; a runtime with exec can, by all of them (the check can fail).
func TestSandboxWithoutExec(t *testing.T) {
	for _, tc := range []struct {
		omit []string
		want string
		made int
	}{
		{[]string{"exec"}, "main: none\ntask: none\nhandler: none\n", 0},
		{nil, "main: exec,execute,g_exec,loaded_exec,loadstring,popen,require_exec,require_execute,require_popen\n" +
			"task: exec,execute,g_exec,loaded_exec,loadstring,popen,require_exec,require_execute,require_popen\n" +
			"handler: exec,execute,g_exec,loaded_exec,loadstring,popen,require_exec,require_execute,require_popen\n", 27},
	} {
		t.Run(fmt.Sprintf("omit=%v", tc.omit), func(t *testing.T) {
			// Not t.TempDir, named after the test: cmd.exe takes the '='
			// of "omit=[]" in a path for a separator.
			dir, err := os.MkdirTemp("", "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			rt, out, errs := newTestRuntime(t, Options{Omit: tc.omit})
			if err := rt.Run("try", []byte(tryProcesses), dir, runtime.GOOS); err != nil {
				t.Fatalf("%v\n%s", err, errs)
			}
			if out.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out, tc.want)
			}
			rt.Close()
			made, _ := os.ReadDir(dir)
			if len(made) != tc.made {
				t.Errorf("%d processes ran, want %d: %v", len(made), tc.made, made)
			}
		})
	}
}

// TestSandboxUnreachable walks everything a state without exec can reach,
// every library loaded (globals, registry, metatables, upvalues), and
// finds none of the Go functions that start processes.
func TestSandboxUnreachable(t *testing.T) {
	full := NewRuntime(context.Background(), Options{})
	defer full.Close()
	fl := full.NewState(full.Context())
	defer fl.Close()
	forbidden := map[uintptr]string{}
	for _, path := range []string{"io.popen", "os.execute"} {
		forbidden[codeOf(lookupPath(fl, path).(*glua.LFunction))] = path
	}
	for _, f := range modules["exec"].funcs {
		forbidden[codeOf(&glua.LFunction{IsG: true, GFunction: f.f})] = "exec." + f.name
	}

	rt := NewRuntime(context.Background(), Options{Omit: []string{"exec"}})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	if found := reachableCode(L, forbidden); len(found) != 0 {
		t.Errorf("reachable without exec: %v", found)
	}
	if L.GetGlobal("exec") != glua.LNil {
		t.Error("exec is there")
	}
	// The same walk finds them all in a state with exec.
	if found := reachableCode(fl, forbidden); len(found) != len(forbidden) {
		t.Errorf("with exec, the walk finds %v of %d", found, len(forbidden))
	}
}

// reachableCode loads every library in L and returns the names of the Go
// functions of codes that L can reach from its globals and registry,
// through tables, metatables, upvalues and environments.
func reachableCode(L *glua.LState, codes map[uintptr]string) map[string]bool {
	for _, name := range GlobalNames(L) {
		loadLib(L, name)
	}
	found := map[string]bool{}
	seen := map[glua.LValue]bool{}
	work := []glua.LValue{L.G.Global, L.G.Registry}
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		if v == nil || seen[v] {
			continue
		}
		switch x := v.(type) {
		case *glua.LTable:
			seen[v] = true
			x.ForEach(func(k, val glua.LValue) { work = append(work, k, val) })
			work = append(work, x.Metatable)
		case *glua.LFunction:
			seen[v] = true
			if what, ok := codes[codeOf(x)]; ok && x.IsG {
				found[what] = true
			}
			for _, uv := range x.Upvalues {
				if uv != nil {
					work = append(work, uv.Value())
				}
			}
			if x.Env != nil {
				work = append(work, x.Env)
			}
		case *glua.LUserData:
			seen[v] = true
			work = append(work, x.Metatable)
		}
	}
	return found
}

// TestOmit: an omitted library is nil everywhere, require fails for it,
// and os without os has no remove or rename.
func TestOmit(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("x"), 0o644)
	rt, out, errs := newTestRuntime(t, Options{Omit: []string{"os", "io", "package"}})
	err := rt.Run("omit", []byte(`
		local victim = ...
		local function check()
		  assert(os == nil and io == nil and require == nil and module == nil and package == nil)
		  assert(not pcall(function() os.remove(victim) end))
		  assert(not pcall(function() os.rename(victim, victim .. "2") end))
		  assert(socket and string.upper and table.concat and math.floor)
		  return "checked"
		end
		print(check())
		print(select(2, task.spawn(check):wait()))
	`), victim)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	if out.String() != "checked\nchecked\n" {
		t.Errorf("stdout %q", out)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("the file went: %v", err)
	}

	rt2, _, _ := newTestRuntime(t, Options{Omit: []string{"os"}})
	err = rt2.Run("require", []byte(`return require("os")`))
	if err == nil || !strings.Contains(err.Error(), "module os not found") {
		t.Errorf("require(\"os\") without os: %v", err)
	}
}

// TestNewRuntimeRefuses: a misspelt omission or a clashing module stops
// the runtime from starting, with a message that says which.
func TestNewRuntimeRefuses(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Omit: []string{"exce"}}, `cannot omit "exce": only math, io, os`},
		{Options{Omit: []string{"string"}}, `cannot omit "string"`},
		{Options{Modules: []Module{{Name: "socket"}}}, `"socket" exists already`},
		{Options{Modules: []Module{{Name: "os"}}}, `"os" exists already`},
		{Options{Modules: []Module{{Name: "m"}, {Name: "m"}}}, `"m" exists already`},
		{Options{Modules: []Module{{Name: "a-b"}}}, `"a-b" is not a Lua name`},
		{Options{Modules: []Module{{Name: "print"}}}, `"print" exists already`},
		{Options{Modules: []Module{{Name: "_G"}}}, `"_G" exists already`},
		{Options{Modules: []Module{{Name: "module"}}}, `"module" exists already`},
		{Options{Modules: []Module{{Name: "end"}}}, `"end" is not a Lua name`},
		{Options{Modules: []Module{{Name: ""}}}, `"" is not a Lua name`},
	} {
		func() {
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.Contains(msg, tc.want) {
					t.Errorf("%+v: panic %q, want %q", tc.o, msg, tc.want)
				}
			}()
			NewRuntime(context.Background(), tc.o)
		}()
	}
	// A module may take the name of one that is left out.
	rt, out, _ := newTestRuntime(t, Options{Omit: []string{"exec"}, Modules: []Module{{Name: "exec",
		Funcs: map[string]glua.LGFunction{"run": func(L *glua.LState) int { L.Push(glua.LString("mine")); return 1 }}}}})
	if err := rt.Run("mine", []byte(`print(exec.run("ls"), require("exec").run())`)); err != nil || out.String() != "mine\tmine\n" {
		t.Errorf("%v %q", err, out)
	}
}

// TestModule: a program's module is there in the main state, tasks,
// handlers and require, passes between states as a builtin, and has help.
func TestModule(t *testing.T) {
	calls := make(chan string, 10)
	rt, out, errs := newTestRuntime(t, Options{Modules: []Module{{Name: "kv", Doc: "a test module",
		Funcs: map[string]glua.LGFunction{
			"note": func(L *glua.LState) int { calls <- L.CheckString(1); return 0 },
			"twice": func(L *glua.LState) int {
				L.Push(glua.LNumber(2 * L.CheckNumber(1)))
				return 1
			},
		}}}})
	err := rt.Run("module", []byte(`
		local twice = kv.twice
		assert(require("kv") == kv and package.loaded.kv == kv)
		kv.note("main")
		local ok, v = task.spawn(function() kv.note("task"); return twice(21), kv.twice == twice end):wait()
		assert(ok and v == 42, v)
		local srv = socket.serve("127.0.0.1", 0, function(c) kv.note("handler"); c:send("x") end)
		local c = socket.connect("127.0.0.1", srv:port())
		assert(c:recv(1) == "x")
		srv:close()
	`))
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	for _, want := range []string{"main", "task", "handler"} {
		if got := <-calls; got != want {
			t.Errorf("call from %s, want %s", got, want)
		}
	}
	L := rt.State()
	help := Help(L, glua.LNil)
	if !strings.Contains(help, "kv       a test module") {
		t.Errorf("help() does not list kv:\n%s", help)
	}
	if got := Help(L, glua.LString("kv")); got != "kv: a test module\n  kv.note\n  kv.twice\n" {
		t.Errorf("help(kv) = %q", got)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out)
	}
}

// TestModuleBuiltin: a task that names a program's module gets its own
// table, loaded in the task, not a copy of the parent's functions.
func TestModuleBuiltin(t *testing.T) {
	rt, _, _ := newTestRuntime(t, Options{Modules: []Module{{Name: "m",
		Funcs: map[string]glua.LGFunction{"f": func(L *glua.LState) int { return 0 }}}}})
	L := rt.State()
	if err := rt.Run("b", []byte(`assert(m.f)`)); err != nil {
		t.Fatal(err)
	}
	if !stateOf(L).isBuiltin("m.f", lookupPath(L, "m.f")) || !stateOf(L).isBuiltin("m", L.GetGlobal("m")) {
		t.Error("the module's values are not known as builtins")
	}
	c, err := freezeCall(L, L.NewFunction(func(*glua.LState) int { return 0 }), []glua.LValue{lookupPath(L, "m.f")})
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := c.args[0].(fBuiltin); !ok || b != "m.f" {
		t.Errorf("m.f froze as %#v", c.args[0])
	}
}

// TestScriptsFS: require and RunFile find scripts in Options.Scripts, a
// file on disk comes first, and Scripts lists them with their first line.
func TestScriptsFS(t *testing.T) {
	fsys := fstest.MapFS{
		"hello.lua":    {Data: []byte("-- says hello\nlocal u = require('lib.util')\nprint(u.greet(...))\n")},
		"lib/util.lua": {Data: []byte("return {greet = function(who) return 'hello, ' .. who end}\n")},
		"bad.lua":      {Data: []byte("-- does not compile\nreturn +\n")},
		"notes.txt":    {Data: []byte("not a script")},
	}
	rt, out, _ := newTestRuntime(t, Options{Scripts: fsys})
	if err := rt.RunFile("hello", "you"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello, you\n" {
		t.Errorf("stdout %q", out)
	}
	got := fmt.Sprint(rt.Scripts())
	if got != "[{bad does not compile} {hello says hello}]" {
		t.Errorf("Scripts() = %s", got)
	}
	var missing *ScriptNotFoundError
	if err := rt.RunFile("nope"); !errors.As(err, &missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RunFile(nope) = %v", err)
	}
	if err := rt.RunFile("lib/util"); err == nil || errors.As(err, &missing) {
		t.Errorf("a path is not looked up in the scripts: %v", err)
	}
	var failed *ScriptError
	if err := rt.RunFile("bad"); !errors.As(err, &failed) {
		t.Errorf("RunFile(bad) = %v", err)
	}
	err := rt.Run("req", []byte(`return require("nope")`))
	if err == nil || !strings.Contains(err.Error(), "no script 'nope.lua' in the runtime's scripts") {
		t.Errorf("require(nope) = %v", err)
	}
	// A file on disk comes before a script of the same name.
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("hello", []byte("print('from disk')"), 0o644)
	out.Reset()
	if err := rt.RunFile("hello"); err != nil || out.String() != "from disk\n" {
		t.Errorf("%v %q", err, out)
	}
}

// TestStdin: term reads the runtime's Stdin, line by line.
func TestStdin(t *testing.T) {
	rt, out, _ := newTestRuntime(t, Options{Stdin: strings.NewReader("one\ntwo\r\nthree")})
	err := rt.Run("stdin", []byte(`
		for line in term.lines("> ") do print("[" .. line .. "]") end
		print(term.readline())`))
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "[one]\n[two]\n[three]\nnil\tclosed\n" {
		t.Errorf("stdout %q", out)
	}
}

// TestExit: os.exit ends the call with an *ExitError, or calls
// Options.Exit; in a task, it fails the task.
func TestExit(t *testing.T) {
	rt, _, _ := newTestRuntime(t, Options{})
	var exit *ExitError
	if err := rt.Run("exit", []byte(`os.exit(3)`)); !errors.As(err, &exit) || exit.Code != 3 {
		t.Errorf("os.exit(3) = %v", err)
	}
	if err := rt.Run("exit", []byte(`
		local ok, err = task.spawn(function() os.exit(false) end):wait()
		assert(not ok and err == "exit 1", err)`)); err != nil {
		t.Error(err)
	}
	var code []int
	rt2, _, _ := newTestRuntime(t, Options{Exit: func(c int) { code = append(code, c) }})
	if err := rt2.Run("exit", []byte(`os.exit(7); os.exit(true)`)); err != nil || fmt.Sprint(code) != "[7 0]" {
		t.Errorf("%v %v", err, code)
	}
}

// TestContextCancelsEverything: the runtime's context ends the main call,
// tasks and servers.
func TestContextCancelsEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rt := NewRuntime(ctx, Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	defer rt.Close()
	started := make(chan int, 1)
	rt.State().SetGlobal("started", rt.State().NewFunction(func(L *glua.LState) int {
		started <- L.CheckInt(1)
		return 0
	}))
	done := make(chan error, 1)
	go func() {
		done <- rt.Run("blocked", []byte(`
			local srv = socket.serve("127.0.0.1", 0, function(c) c:recv(1) end)
			task.spawn(function() task.sleep(3600) end)
			started(srv:port())
			task.sleep(3600)`))
	}()
	port := <-started
	cancel()
	select {
	case err := <-done:
		if err == nil || err.Error() != "interrupted" {
			t.Errorf("Run = %v, want interrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the main call was not interrupted")
	}
	if err := rt.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Error("the server still accepts")
	}
}

// TestCloseBounded: Close interrupts what it can, waits at most
// CloseTimeout for the rest, and says so; later calls fail at once.
func TestCloseBounded(t *testing.T) {
	stuck, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	rt, _, errs := newTestRuntime(t, Options{CloseTimeout: 200 * time.Millisecond,
		Modules: []Module{{Name: "block", Funcs: map[string]glua.LGFunction{
			"forever": func(L *glua.LState) int { close(stuck); <-release; return 0 },
		}}}})
	if err := rt.Run("stuck", []byte(`task.spawn(block.forever); task.spawn(task.sleep, 3600)`)); err != nil {
		t.Fatal(err)
	}
	<-stuck
	start := time.Now()
	rt.Close()
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if !strings.Contains(errs.String(), "wirelab: after 200ms, 1 tasks or servers still running") {
		t.Errorf("stderr %q", errs)
	}
	if err := rt.Run("after", []byte(`print(1)`)); err == nil {
		t.Error("Run after Close succeeded")
	}
}

// TestShareRules: every class states how its objects pass between tasks,
// every rule is a class's, and a refused class is refused by name.
func TestPassRules(t *testing.T) {
	for name, c := range classes {
		if c.pass == passCopy && c.copy == nil {
			t.Errorf("class %s is copied without a copy function", name)
		}
		if classOf(reflect.New(c.goType).Elem().Interface()) != c {
			t.Errorf("class %s is not found by its Go type %v", name, c.goType)
		}
	}
	saved := dictClass.pass
	dictClass.pass = passRefuse
	defer func() { dictClass.pass = saved }()
	rt, _, _ := newTestRuntime(t, Options{})
	err := rt.Run("refused", []byte(`local d = task.shared("x"); task.spawn(function() return d end)`))
	if err == nil || !strings.Contains(err.Error(), "task.spawn: cannot pass a dict to another task") {
		t.Errorf("a refused class: %v", err)
	}
}

// TestUnwaitedFailure: a failed task is reported on stderr when nobody
// waits for it: within about a second while the runtime lives, at the
// latest when it closes, and never when the script waits for it soon
// after it failed.
func TestUnwaitedFailure(t *testing.T) {
	rt, _, errs := newTestRuntime(t, Options{})
	err := rt.Run("waited", []byte(`
		local t = task.spawn(function() error("read later") end)
		while not t:done() do task.sleep(0.01) end
		task.sleep(0.1)
		local ok, err = t:wait()
		assert(not ok and err:find("read later"), err)`))
	if err != nil {
		t.Fatal(err)
	}
	rt.Close()
	if errs.Len() != 0 {
		t.Errorf("a failure the script read was reported: %q", errs)
	}

	rt, _, errs = newTestRuntime(t, Options{})
	if err := rt.Run("lost", []byte(`task.spawn(function() error("nobody asks") end)`)); err != nil {
		t.Fatal(err)
	}
	rt.Wait(context.Background())
	rt.Close()
	if !strings.HasPrefix(errs.String(), "wirelab: task failed: lost:1: nobody asks\n") {
		t.Errorf("at Close: %q", errs)
	}

	rt, _, errs = newTestRuntime(t, Options{})
	if err := rt.Run("live", []byte(`task.spawn(function() error("while running") end)`)); err != nil {
		t.Fatal(err)
	}
	testbin.WaitFor(t, 10*time.Second, "the failure reported while the runtime lives", func() bool {
		return strings.Contains(errs.String(), "wirelab: task failed: live:1: while running")
	})
}
