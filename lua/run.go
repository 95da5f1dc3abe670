package lua

import (
	"bytes"
	"errors"

	glua "github.com/yuin/gopher-lua"
)

// ScriptError is a script's failure: its message and traceback.
type ScriptError struct{ Msg string }

// Error implements error.
func (e *ScriptError) Error() string { return e.Msg }

// Run runs src as the main chunk of L, named name (arg[0] and the name in
// tracebacks), with args as arg[1..n] and as the chunk's "...". It returns
// nil, an *ExitError when the script asked to end with a code (flags
// --help), or a *ScriptError.
func Run(L *glua.LState, name string, src []byte, args []string) error {
	argt := L.CreateTable(len(args), 2)
	argt.RawSetInt(-1, glua.LString("wirelab"))
	argt.RawSetInt(0, glua.LString(name))
	for _, a := range args {
		argt.Append(glua.LString(a))
	}
	L.SetGlobal("arg", argt)
	fn, err := L.Load(bytes.NewReader(skipShebang(src)), name)
	if err != nil {
		return &ScriptError{Msg: err.Error()}
	}
	L.Push(fn)
	for _, a := range args {
		L.Push(glua.LString(a))
	}
	return callResult(L, L.PCall(len(args), 0, nil))
}

// callResult turns the error of a PCall into Run's errors.
func callResult(L *glua.LState, err error) error {
	if err == nil {
		return nil
	}
	if code, ok := exitCode(err); ok {
		return &ExitError{Code: code}
	}
	return &ScriptError{Msg: errorText(ctxOf(L), err)}
}

// skipShebang blanks a first line starting with #!, keeping line numbers.
func skipShebang(src []byte) []byte {
	if !bytes.HasPrefix(src, []byte("#!")) {
		return src
	}
	if i := bytes.IndexByte(src, '\n'); i >= 0 {
		return append([]byte("--"), src[2:]...)
	}
	return nil
}

// IsInterrupted reports whether err is the failure of code stopped by its
// context's cancellation.
func IsInterrupted(err error) bool {
	var se *ScriptError
	return errors.As(err, &se) && se.Msg == "interrupted"
}
