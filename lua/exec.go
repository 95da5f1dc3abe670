package lua

import (
	"math"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// execModule is the exec module.
var execModule = &module{
	name: "exec",
	doc:  "run commands",
	funcs: []fn{
		{"run", execRun, "exec.run(cmd [, {timeout=s, cwd=dir, env={...}, stdin=s, max_output=n, spool=n|true, limiter=l}]) -> {stdout=, stderr=, code=, timed_out=, truncated=, signal=, held=} | nil, err -- cmd is a shell string or an argv table; with limiter, wait in its line first"},
		spawnFunc,
		limiterFunc,
	},
	setup: func(L *glua.LState, mod *glua.LTable) {
		mod.RawSetString("default_max_running", glua.LNumber(engine.DefaultMaxRunning()))
	},
}

// DefaultSpool is what spool = true keeps in memory per stream: 64 KiB.
const DefaultSpool = 64 << 10

func execRun(L *glua.LState) int {
	var cmd engine.Command
	cmd.Shell, cmd.Argv = argvOrShell(L, 1)
	opts := optTable(L, 2, "timeout", "cwd", "env", "stdin", "max_output", "spool", "limiter")
	cmd.Timeout = optSeconds(L, opts, "timeout")
	cmd.Dir = optString(L, opts, "cwd", "")
	maxOut := optInt(L, opts, "max_output", engine.DefaultMaxOutput)
	if maxOut < 1 || maxOut > math.MaxInt32 {
		L.RaiseError("option max_output must be from 1 to %d", math.MaxInt32)
	}
	cmd.MaxOutput = int(maxOut)
	if v := optField(opts, "stdin"); v != glua.LNil {
		cmd.Stdin = []byte(optString(L, opts, "stdin", ""))
	}
	switch v := optField(opts, "spool").(type) {
	case glua.LBool:
		if v {
			cmd.Spool = DefaultSpool
		}
	case glua.LNumber:
		if v < 1 {
			L.RaiseError("option spool must be at least 1")
		}
		cmd.Spool = int64(v)
	case *glua.LNilType:
	default:
		L.RaiseError("option spool must be a number of bytes or true")
	}
	switch v := optField(opts, "limiter").(type) {
	case *glua.LNilType:
	case *glua.LUserData:
		l, ok := v.Value.(*engine.Limiter)
		if !ok {
			L.ArgError(2, "option limiter must be a limiter (exec.limiter(n))")
		}
		cmd.Slots = l
	default:
		L.ArgError(2, "option limiter must be a limiter (exec.limiter(n)), got "+v.Type().String())
	}
	if env, ok := optField(opts, "env").(*glua.LTable); ok {
		cmd.Env = map[string]string{}
		env.ForEach(func(k, v glua.LValue) {
			cmd.Env[glua.LVAsString(k)] = glua.LVAsString(v)
		})
	}
	res, err := engine.Run(ctxOf(L), cmd)
	if err != nil {
		return fail(L, err)
	}
	t := L.CreateTable(0, 6)
	if cmd.Spool > 0 {
		t.RawSetString("stdout", newObject(L, res.StdoutBlob))
		t.RawSetString("stderr", newObject(L, res.StderrBlob))
	} else {
		t.RawSetString("stdout", lstring(res.Stdout))
		t.RawSetString("stderr", lstring(res.Stderr))
	}
	t.RawSetString("code", glua.LNumber(res.Code))
	t.RawSetString("timed_out", glua.LBool(res.TimedOut))
	t.RawSetString("truncated", glua.LBool(res.Truncated))
	if res.Held {
		t.RawSetString("held", glua.LTrue)
	}
	if res.Signal != "" {
		t.RawSetString("signal", glua.LString(res.Signal))
	}
	L.Push(t)
	return 1
}
