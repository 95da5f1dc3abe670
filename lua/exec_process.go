package lua

import (
	"fmt"
	"reflect"
	"strings"
	"syscall"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// exec.spawn and the process class: a local program driven over its stdin
// and stdout with the methods of a conn (pwntools' process()).

// spawnFunc is exec.spawn, registered with the exec module (exec.go).
var spawnFunc = fn{"spawn", execSpawn, "exec.spawn(cmd [, {cwd=dir, env={...}, stderr=\"merge\"|\"pipe\", max_stderr=n, pty=bool}]) -> process | nil, err -- start cmd (a shell string or an argv table) and talk to it over its stdin and stdout, with the methods of a conn; pty=true makes them a raw pseudo-terminal, so that programs that buffer their output on a pipe answer line by line"}

// argvOrShell reads argument n of exec.run and exec.spawn: a shell string
// or an argv table.
func argvOrShell(L *glua.LState, n int) (shell string, argv []string) {
	switch v := L.Get(n).(type) {
	case glua.LString:
		return string(v), nil
	case *glua.LTable:
		k := v.Len()
		if k == 0 {
			L.ArgError(n, "empty argv")
		}
		for i := 1; i <= k; i++ {
			s, ok := v.RawGetInt(i).(glua.LString)
			if !ok {
				L.ArgError(n, "argv must hold strings")
			}
			argv = append(argv, string(s))
		}
		return "", argv
	}
	L.ArgError(n, "string or table expected, got "+L.Get(n).Type().String())
	return "", nil
}

func execSpawn(L *glua.LState) int {
	var s engine.Spawn
	s.Shell, s.Argv = argvOrShell(L, 1)
	opts := optTable(L, 2, "cwd", "env", "stderr", "max_stderr", "pty")
	s.Dir = optString(L, opts, "cwd", "")
	switch mode := optString(L, opts, "stderr", "merge"); mode {
	case "merge":
		s.Stderr = engine.StderrMerge
	case "pipe":
		s.Stderr = engine.StderrPipe
	default:
		L.ArgError(2, fmt.Sprintf("option stderr must be \"merge\" or \"pipe\", got %q", mode))
	}
	maxErr := optInt(L, opts, "max_stderr", engine.DefaultMaxStderr)
	if maxErr < 1 || maxErr > 1<<30 {
		L.ArgError(2, "option max_stderr must be from 1 to 2^30")
	}
	s.MaxStderr = int(maxErr)
	s.PTY = optBool(L, opts, "pty", false)
	if env, ok := optField(opts, "env").(*glua.LTable); ok {
		s.Env = map[string]string{}
		env.ForEach(func(k, v glua.LValue) {
			s.Env[glua.LVAsString(k)] = glua.LVAsString(v)
		})
	}
	st := stateOf(L)
	if ctxOf(L).Err() != nil {
		return fail(L, engine.ErrInterrupted)
	}
	// The process lives as long as the task that spawned it (the runtime,
	// for a main script or the prompt), not only the current call.
	p, err := engine.StartProcess(st.life, s)
	if err != nil {
		return fail(L, err)
	}
	st.rt.track(p)
	L.Push(newObject(L, p))
	return 1
}

// track keeps p until it is reaped, so that Close kills it even when its
// owner's cancellation has not run yet.
func (rt *Runtime) track(p *engine.Process) {
	rt.mu.Lock()
	rt.procs[p] = struct{}{}
	rt.mu.Unlock()
	go func() {
		<-p.Done()
		rt.mu.Lock()
		delete(rt.procs, p)
		rt.mu.Unlock()
	}()
}

// killProcesses kills every process spawned and not reaped yet.
func (rt *Runtime) killProcesses() {
	rt.mu.Lock()
	procs := make([]*engine.Process, 0, len(rt.procs))
	for p := range rt.procs {
		procs = append(procs, p)
	}
	rt.mu.Unlock()
	for _, p := range procs {
		p.Close()
	}
}

// processMethods are conn's conversation methods, documented for p.
func processMethods() []fn {
	var out []fn
	for _, m := range connClass.methods {
		switch m.name {
		case "peer", "local", "shutdown", "close", "closed":
			continue
		}
		out = append(out, fn{m.name, m.f, strings.Replace(m.doc, "c:", "p:", 1)})
	}
	return append(out,
		fn{"stderr", processStderr, "p:stderr() -> data, dropped -- the standard error collected since the last call (stderr=\"pipe\"), never waiting; dropped counts bytes lost past max_stderr"},
		fn{"close_stdin", processCloseStdin, "p:close_stdin() -- close the process's stdin: it reads end of file; with pty=true the terminal is hung up instead (SIGHUP, and what was not received is lost)"},
		fn{"wait", processWait, "p:wait([timeout]) -> code, signal | nil, err -- wait for the process to end (timeout 0: only look); code is -1 when a signal ended it"},
		fn{"kill", processKill, "p:kill([sig]) -> true | nil, err -- send sig (default \"KILL\"; \"TERM\", \"INT\", \"HUP\", ... or a number) to the process and its group"},
		fn{"pid", processPid, "p:pid() -> n -- the process id, also its process group"},
		fn{"close", processClose, "p:close() -- kill the process group and close the pipes"},
		fn{"closed", connClosed, "p:closed() -> bool -- whether close was called"},
	)
}

// processClass: a process moves between tasks by reference, as a conn
// does, and belongs to the task that spawned it, which kills it on ending.
var processClass = &class{
	name:   "process",
	goType: reflect.TypeFor[*engine.Process](),
	// A process is a connection to a program: any task may talk to it; it
	// dies with the task that spawned it.
	pass: passRef,
	doc:  "a running program, driven over its stdin and stdout",
	tostring: func(v any) string {
		return fmt.Sprintf("<process %s>", v.(*engine.Process))
	},
}

func init() { processClass.methods = processMethods() }

func checkProcess(L *glua.LState) *engine.Process {
	return check[*engine.Process](L, 1, "process")
}

func processStderr(L *glua.LState) int {
	b, dropped := checkProcess(L).Stderr()
	L.Push(lstring(b))
	L.Push(glua.LNumber(dropped))
	return 2
}

func processCloseStdin(L *glua.LState) int {
	checkProcess(L).Conn().CloseWrite()
	return 0
}

func processWait(L *glua.LState) int {
	p := checkProcess(L)
	var timeout = seconds(L, L.Get(2), "timeout")
	if L.Get(2) != glua.LNil && timeout == 0 && !p.Exited() {
		return fail(L, engine.ErrTimeout)
	}
	code, sig, err := p.Wait(ctxOf(L), timeout)
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(code))
	if sig == "" {
		return 1
	}
	L.Push(glua.LString(sig))
	return 2
}

func processKill(L *glua.LState) int {
	p := checkProcess(L)
	sig := syscall.SIGKILL
	switch v := L.Get(2).(type) {
	case *glua.LNilType:
	case glua.LNumber:
		if v < 0 || v > 64 || float64(v) != float64(int(v)) {
			L.ArgError(2, fmt.Sprintf("bad signal number %v", v))
		}
		sig = syscall.Signal(int(v))
	case glua.LString:
		s, ok := signals[strings.TrimPrefix(strings.ToUpper(string(v)), "SIG")]
		if !ok {
			names := make([]string, 0, len(signals))
			for n := range signals {
				names = append(names, n)
			}
			L.ArgError(2, fmt.Sprintf("unknown signal '%s'%s", string(v), didYouMean(strings.ToUpper(string(v)), names)))
		}
		sig = s
	default:
		L.ArgError(2, "signal name or number expected, got "+v.Type().String())
	}
	if err := p.Kill(sig); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LTrue)
	return 1
}

func processPid(L *glua.LState) int {
	L.Push(glua.LNumber(checkProcess(L).Pid()))
	return 1
}

func processClose(L *glua.LState) int {
	checkProcess(L).Close()
	return 0
}
