package lua51

import (
	"fmt"
	"strings"
	"syscall"

	glua "github.com/yuin/gopher-lua"
)

// Corrections to gopher-lua's io library, which wraps its functions: the
// standard files cannot be closed (gopher-lua closed the process's
// stdout), io.open takes the modes C's fopen takes and fails with
// "name: message" and errno, setvbuf knows "line", a closed file is "a
// closed file", write returns true, and options are checked with 5.1's
// messages.

// ioFix holds what the wrappers of one state's io library share.
type ioFix struct {
	lib, mt *glua.LTable
	std     map[glua.LValue]bool // io.stdin, io.stdout, io.stderr
	lineBuf map[glua.LValue]bool // files set to line buffering
	orig    func(t *glua.LTable, name string) glua.LValue
	closed  func(L *glua.LState, f glua.LValue) bool
}

// An ioWrapper runs before (or instead of) gopher-lua's function next,
// which it calls with callNext.
type ioWrapper func(L *glua.LState, next glua.LValue) int

// wrap replaces t[name] by w around the original.
func (x *ioFix) wrap(L *glua.LState, t *glua.LTable, name string, w ioWrapper) {
	next := t.RawGetString(name)
	t.RawSetString(name, L.NewFunction(func(L *glua.LState) int { return w(L, next) }))
}

// callNext calls next with the arguments of the running function and
// returns the count of its results, which it leaves on the stack.
func callNext(L *glua.LState, next glua.LValue) int {
	top := L.GetTop()
	L.Push(next)
	for i := 1; i <= top; i++ {
		L.Push(L.Get(i))
	}
	L.Call(top, glua.MultRet)
	return L.GetTop() - top
}

// open0 is a method that needs an open file.
func (x *ioFix) open0(L *glua.LState, next glua.LValue) int {
	if x.closed(L, L.Get(1)) {
		L.RaiseError("attempt to use a closed file")
	}
	return callNext(L, next)
}

// read is file:read(...) and io.read(...), whose formats are counts or
// start with *n, *l or *a.
func (x *ioFix) read(L *glua.LState, next glua.LValue) int {
	first := 1
	if _, ok := L.Get(1).(*glua.LUserData); ok {
		first = 2
		if x.closed(L, L.Get(1)) {
			L.RaiseError("attempt to use a closed file")
		}
	}
	for i := first; i <= L.GetTop(); i++ {
		if f, ok := L.Get(i).(glua.LString); ok && (len(f) < 2 || f[0] != '*' || !strings.ContainsRune("nla", rune(f[1]))) {
			L.ArgError(i, "invalid format")
		}
	}
	return callNext(L, next)
}

// fileClose is file:close(); a standard file stays open, and a process's
// returns true, not its exit status.
func (x *ioFix) fileClose(L *glua.LState, next glua.LValue) int {
	if x.std[L.Get(1)] {
		L.Push(glua.LNil)
		L.Push(glua.LString("cannot close standard file"))
		return 2
	}
	delete(x.lineBuf, L.Get(1))
	n := x.open0(L, next)
	if n >= 1 && L.Get(-n) == glua.LNumber(0) {
		L.Replace(-n, glua.LTrue)
	}
	return n
}

// gc is a file's __gc, which gopher-lua never calls but a script may: it
// closes the file.
func (x *ioFix) gc(L *glua.LState) int {
	f, ok := L.Get(1).(*glua.LUserData)
	if !ok || f.Metatable != x.mt {
		got := "no value"
		if L.GetTop() >= 1 {
			got = L.Get(1).Type().String()
		}
		L.ArgError(1, "FILE* expected, got "+got)
	}
	if !x.std[f] && !x.closed(L, f) {
		L.Push(x.orig(x.mt, "close"))
		L.Push(f)
		L.Call(1, 0)
	}
	return 0
}

// ioClose is io.close([file]), which closes the default output by
// default.
func (x *ioFix) ioClose(L *glua.LState, next glua.LValue) int {
	if L.GetTop() == 0 {
		L.Push(x.orig(x.lib, "output"))
		L.Call(0, 1)
	}
	return x.fileClose(L, x.orig(x.mt, "close"))
}

// fileWrite is file:write(...), which flushes a line-buffered file once
// a newline is written.
func (x *ioFix) fileWrite(L *glua.LState, next glua.LValue) int {
	f := L.Get(1)
	if x.closed(L, f) {
		L.RaiseError("attempt to use a closed file")
	}
	n := callNext(L, next)
	x.flushLine(L, f, 2)
	return writeResult(L, n)
}

// writeResult turns the file that gopher-lua's write returns into 5.1's
// true.
func writeResult(L *glua.LState, n int) int {
	if n == 1 {
		if _, ok := L.Get(-1).(*glua.LUserData); ok {
			L.Replace(-1, glua.LTrue)
		}
	}
	return n
}

// ioWrite is io.write(...), to the default output.
func (x *ioFix) ioWrite(L *glua.LState, next glua.LValue) int {
	n := callNext(L, next)
	if len(x.lineBuf) > 0 {
		L.Push(x.orig(x.lib, "output"))
		L.Call(0, 1)
		f := L.Get(-1)
		L.Pop(1)
		x.flushLine(L, f, 1)
	}
	return writeResult(L, n)
}

// flushLine flushes f if it is line-buffered and one of the arguments
// from first on holds a newline.
func (x *ioFix) flushLine(L *glua.LState, f glua.LValue, first int) {
	if !x.lineBuf[f] {
		return
	}
	for i := first; i <= L.GetTop(); i++ {
		if s, ok := L.Get(i).(glua.LString); ok && strings.Contains(string(s), "\n") {
			L.Push(x.orig(x.mt, "flush"))
			L.Push(f)
			L.Call(1, 0)
			return
		}
	}
}

// setvbuf is file:setvbuf(mode [, size]); "line" is full buffering that
// flushes at each newline.
func (x *ioFix) setvbuf(L *glua.LState, next glua.LValue) int {
	mode := L.CheckString(2)
	switch mode {
	case "no", "full":
		delete(x.lineBuf, L.Get(1))
	case "line":
		L.Replace(2, glua.LString("full"))
		x.lineBuf[L.Get(1)] = true
	default:
		L.ArgError(2, fmt.Sprintf("invalid option '%s'", mode))
	}
	return x.open0(L, next)
}

// seek is file:seek([whence [, offset]]).
func (x *ioFix) seek(L *glua.LState, next glua.LValue) int {
	if L.GetTop() >= 2 {
		switch w := L.CheckString(2); w {
		case "set", "cur", "end":
		default:
			L.ArgError(2, fmt.Sprintf("invalid option '%s'", w))
		}
	}
	return x.open0(L, next)
}

// tostring is a file's __tostring: "file (0x...)" or "file (closed)".
func (x *ioFix) tostring(L *glua.LState) int {
	f := L.Get(1)
	if x.closed(L, f) {
		L.Push(glua.LString("file (closed)"))
	} else {
		L.Push(glua.LString(fmt.Sprintf("file (%p)", f)))
	}
	return 1
}

// open is io.open(name [, mode]). Like C's fopen, it reads the mode's
// first letter and a "+" after it, ignoring the rest; it fails with nil,
// "name: message" and errno.
func (x *ioFix) open(L *glua.LState, next glua.LValue) int {
	name := L.CheckString(1)
	mode := "r"
	if L.Get(2) != glua.LNil {
		mode = L.CheckString(2)
	}
	if mode == "" || !strings.ContainsRune("rwa", rune(mode[0])) {
		return errnoResult(L, name, syscall.EINVAL)
	}
	m := mode[:1]
	if strings.Contains(mode[1:min(len(mode), 7)], "+") {
		m += "+"
	}
	L.SetTop(1)
	L.Push(glua.LString(m))
	n := callNext(L, next)
	if n >= 2 && L.Get(-n) == glua.LNil {
		msg := glua.LVAsString(L.Get(-n + 1))
		if errno, ok := errnoOf(msg); ok {
			L.Pop(n)
			return errnoResult(L, name, errno)
		}
	}
	return n
}

// lines is io.lines([name]), which raises at once for a file it cannot
// open.
func (x *ioFix) lines(L *glua.LState, next glua.LValue) int {
	if L.GetTop() >= 1 && L.Get(1) != glua.LNil {
		name := L.CheckString(1)
		L.Push(x.orig(x.lib, "open"))
		L.Push(glua.LString(name))
		L.Call(1, 2)
		if f := L.Get(-2); f == glua.LNil {
			L.ArgError(1, glua.LVAsString(L.Get(-1)))
		} else {
			L.Push(x.orig(x.mt, "close"))
			L.Push(f)
			L.Call(1, 0)
		}
		L.Pop(2)
	}
	return callNext(L, next)
}

// errnoResult pushes nil, "name: Strerror" and errno.
func errnoResult(L *glua.LState, name string, errno syscall.Errno) int {
	L.Push(glua.LNil)
	L.Push(glua.LString(name + ": " + Strerror(errno)))
	L.Push(glua.LNumber(cErrno(errno)))
	return 3
}

// errnoOf finds the errno whose text ends a Go error message.
func errnoOf(msg string) (syscall.Errno, bool) {
	for e := syscall.Errno(1); e < 256; e++ {
		if s := e.Error(); !strings.HasPrefix(s, "errno ") && strings.HasSuffix(msg, ": "+s) {
			return e, true
		}
	}
	return 0, false
}

// PatchIo wraps gopher-lua's io functions and file methods with Lua 5.1's
// behaviour: a closed file's errors, write's result and number format,
// read's formats, seek and setvbuf's options, line buffering.
func PatchIo(L *glua.LState, lib *glua.LTable) {
	mt, ok := L.GetTypeMetatable("FILE*").(*glua.LTable)
	if !ok {
		return
	}
	x := &ioFix{lib: lib, mt: mt, std: map[glua.LValue]bool{}, lineBuf: map[glua.LValue]bool{}}
	for _, name := range []string{"stdin", "stdout", "stderr"} {
		x.std[lib.RawGetString(name)] = true
	}
	x.orig = func(t *glua.LTable, name string) glua.LValue { return t.RawGetString(name) }
	isType := x.orig(lib, "type")
	x.closed = func(L *glua.LState, f glua.LValue) bool {
		L.Push(isType)
		L.Push(f)
		L.Call(1, 1)
		s := L.Get(-1)
		L.Pop(1)
		return s == glua.LString("closed file")
	}
	x.wrap(L, lib, "open", x.open)
	x.wrap(L, lib, "close", x.ioClose)
	x.wrap(L, lib, "lines", x.lines)
	x.wrap(L, lib, "write", x.ioWrite)
	for _, m := range []string{"lines", "flush"} {
		x.wrap(L, mt, m, x.open0)
	}
	x.wrap(L, mt, "read", x.read)
	x.wrap(L, lib, "read", x.read)
	x.wrap(L, mt, "close", x.fileClose)
	x.wrap(L, mt, "write", x.fileWrite)
	x.wrap(L, mt, "seek", x.seek)
	x.wrap(L, mt, "setvbuf", x.setvbuf)
	// write takes numbers in Lua 5.1's format (string.go)
	lib.RawSetString("write", writeNumbers(L, lib.RawGetString("write"), 1))
	mt.RawSetString("write", writeNumbers(L, mt.RawGetString("write"), 2))
	mt.RawSetString("__tostring", L.NewFunction(x.tostring))
	mt.RawSetString("__gc", L.NewFunction(x.gc))
}
