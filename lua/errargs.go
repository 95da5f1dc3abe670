package lua

import (
	"regexp"
	"strconv"

	glua "github.com/yuin/gopher-lua"
)

// argErrorRE matches an argument error as gopher-lua and wirelab's checks
// raise it: "POS: bad argument #2 to 'recv' (number expected, got nil)";
// the name may come unquoted.
var argErrorRE = regexp.MustCompile(`^(?s)(.*?)bad argument #(\d+) to '?([^' ]*)'? \((.*)$`)

// methodArgError numbers an argument error as Lua 5.1's luaL_argerror
// does when the function was called as a method (c:recv()): self is not
// counted, so c:recv() is "bad argument #1 to 'recv'", and a bad self is
// "calling 'recv' on bad self". The frame's current instruction is the
// call, and the function's register was loaded by SELF when it is a
// method call. Other errors, and calls that are not method calls, give
// false.
func (f *luaFrame) methodArgError(msg string) (string, bool) {
	m := argErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return "", false
	}
	inst := f.proto.Code[f.pc]
	if op := opOf(inst); op != glua.OP_CALL && op != glua.OP_TAILCALL {
		return "", false
	}
	kind, name := f.objName(argA(inst), f.pc, 0)
	if kind != "method" {
		return "", false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n < 1 {
		return "", false
	}
	if n == 1 {
		return m[1] + "calling '" + name + "' on bad self (" + m[4], true
	}
	return m[1] + "bad argument #" + strconv.Itoa(n-1) + " to '" + name + "' (" + m[4], true
}

// isGoFrame reports whether the frame level levels up L's stack runs a Go
// function.
func isGoFrame(L *glua.LState, level int) bool {
	dbg, ok := L.GetStack(level)
	if !ok {
		return false
	}
	fn, _ := L.GetInfo("f", dbg, glua.LNil)
	g, ok := fn.(*glua.LFunction)
	return ok && g.IsG
}
