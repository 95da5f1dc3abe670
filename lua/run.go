package lua

import (
	"context"

	glua "github.com/yuin/gopher-lua"
)

// Prepare sets up src as the main chunk of L, named name (arg[0] and the
// name in tracebacks), with args as arg[1..n], and returns the compiled
// chunk and the values to call it with (args, as the chunk's "..."). The
// command's run, -e and -i and the prompt's scripts all start here.
func Prepare(L *glua.LState, name string, src []byte, args []string) (*glua.LFunction, []glua.LValue, error) {
	argt := L.CreateTable(len(args), 2)
	argt.RawSetInt(-1, glua.LString("wirelab"))
	argt.RawSetInt(0, glua.LString(name))
	vals := make([]glua.LValue, len(args))
	for i, a := range args {
		argt.Append(glua.LString(a))
		vals[i] = glua.LString(a)
	}
	L.SetGlobal("arg", argt)
	fn, err := Load(L, src, name)
	if err != nil {
		return nil, nil, &ScriptError{Msg: err.Error()}
	}
	return fn, vals, nil
}

// Run runs src as the main chunk of L, a state of NewState (see Prepare),
// as Runtime.Run runs it in the main state. It returns nil, an *ExitError
// when the script asked to end with a code (os.exit, flags --help), or a
// *ScriptError.
func Run(L *glua.LState, name string, src []byte, args []string) error {
	fn, vals, err := Prepare(L, name, src, args)
	if err != nil {
		return err
	}
	_, err = call(L, ctxOf(L), fn, vals)
	return err
}

// call calls fn with args in L, whose calls honour ctx, and returns its
// results, or its error as an *ExitError or a *ScriptError: the one way
// Run, Runtime.Run and Runtime.Call call.
func call(L *glua.LState, ctx context.Context, fn *glua.LFunction, args []glua.LValue) ([]glua.LValue, error) {
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := pcallNamed(L, len(args)); err != nil {
		L.SetTop(top)
		if code, ok := exitCode(err); ok {
			return nil, &ExitError{Code: code}
		}
		return nil, &ScriptError{Msg: errorText(ctx, err)}
	}
	values := make([]glua.LValue, L.GetTop()-top)
	for i := range values {
		values[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	return values, nil
}

// ErrorText returns the message and traceback of an error from a call in
// a state whose calls honoured ctx; a cancellation reads "interrupted".
func ErrorText(ctx context.Context, err error) string { return errorText(ctx, err) }

// Exit is an os.exit for states that must not end the process at once (the
// REPL's): it raises an *ExitError that Run and PCall callers see.
func Exit(L *glua.LState) int {
	code := 0
	switch v := L.Get(1).(type) {
	case glua.LNumber:
		code = int(v)
	case glua.LBool:
		if !v {
			code = 1
		}
	}
	L.Error(exitValue(L, code), 0)
	return 0
}
