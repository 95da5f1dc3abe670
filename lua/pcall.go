package lua

import (
	"fmt"
	"reflect"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Protected calls run on a thread of their own.
//
// gopher-lua (v1.1.2, its open issue 448) closes the upvalues of every
// frame of the state when an error is raised, not only of the frames the
// error unwinds. After any error caught by the builtin pcall, closures that
// captured locals of still-running functions (the main chunk's included)
// write to detached copies: a counter stops counting. Its xpcall closes
// none, so closures made in the failed call later read registers that
// other calls have reused.
//
// wirelab's pcall and xpcall run the protected function on a pooled
// thread (L.NewThread: the same globals, a stack of its own), at the
// bottom of that thread's stack. Whatever an error closes there belongs to
// frames the error really unwinds, which is what Lua 5.1 does. Error
// levels count on through the state that called pcall (where), as they do
// in Lua 5.1.

// maxNesting bounds nested protected calls and coroutine resumes, as
// LUAI_MAXCCALLS bounds C calls in Lua 5.1: each level nests Go frames and
// brings a Lua call stack of its own, and an unbounded recursion through
// pcall or coroutine.wrap would end in a fatal Go stack overflow.
const maxNesting = 200

// coResume is coroutine.resume, counted as a nesting level; its upvalue
// is gopher-lua's resume.
func coResume(L *glua.LState) int {
	s := stateOf(L)
	if s.nesting >= maxNesting {
		L.Push(glua.LFalse)
		L.Push(glua.LString("C stack overflow"))
		return 2
	}
	n := s.nested(L, L.Get(glua.UpvalueIndex(1)))
	if n >= 2 && L.Get(1) == glua.LFalse {
		// The error of the coroutine, worded as pcall words it.
		L.Replace(2, fixMessage(L.Get(2)))
	}
	return n
}

// coRunning is coroutine.running: the coroutine whose code runs, nil in
// the main one. A protected call's thread is not a coroutine: it answers
// for the state that called pcall.
func coRunning(L *glua.LState) int {
	s := stateOf(L)
	running := L
	for caller := s.callerOf(running); caller != nil; caller = s.callerOf(running) {
		running = caller
	}
	if running == s.L {
		L.Push(glua.LNil)
	} else {
		L.Push(running)
	}
	return 1
}

// coWrap is coroutine.wrap; its upvalue is gopher-lua's wrap. The function
// it returns keeps gopher-lua's as an upvalue, so that it still cannot be
// passed to another task.
func coWrap(L *glua.LState) int {
	L.Push(L.Get(glua.UpvalueIndex(1)))
	L.Push(L.CheckFunction(1))
	L.Call(1, 1)
	if f, ok := L.Get(-1).(*glua.LFunction); ok && len(f.Upvalues) > 0 {
		if th, ok := f.Upvalues[0].Value().(*glua.LState); ok {
			watchThread(L, th)
		}
	}
	L.Push(L.NewClosure(coWrapped, L.Get(-1)))
	return 1
}

// coCreate is coroutine.create; its upvalue is gopher-lua's create. The
// coroutine gets the memory budget's check (memory.go).
func coCreate(L *glua.LState) int {
	L.Push(L.Get(glua.UpvalueIndex(1)))
	L.Push(L.CheckFunction(1))
	L.Call(1, 1)
	if th, ok := L.Get(-1).(*glua.LState); ok {
		watchThread(L, th)
	}
	return 1
}

func coWrapped(L *glua.LState) int {
	s := stateOf(L)
	if s.nesting >= maxNesting {
		L.RaiseError("C stack overflow")
	}
	return s.nested(L, L.Get(glua.UpvalueIndex(1)))
}

// nested calls fn with L's arguments as one more nesting level.
func (s *state) nested(L *glua.LState, fn glua.LValue) int {
	s.nesting++
	defer func() { s.nesting-- }()
	L.Insert(fn, 1)
	L.Call(L.GetTop()-1, glua.MultRet)
	return L.GetTop()
}

// A thread is a pooled coroutine state that runs protected calls.
type thread struct {
	L *glua.LState
	// caller is the state that called pcall, while the call runs.
	caller *glua.LState
}

// takeThread returns an idle thread of s whose calls honour L's context.
func (s *state) takeThread(L *glua.LState) *thread {
	var th *thread
	if n := len(s.threads); n > 0 {
		th = s.threads[n-1]
		s.threads = s.threads[:n-1]
	} else {
		tl, cancel := s.L.NewThread()
		if cancel != nil {
			// The thread takes the caller's context on every use
			// instead of one derived at creation.
			cancel()
		}
		th = &thread{L: tl}
	}
	if ctx := L.Context(); ctx == nil {
		th.L.RemoveContext()
	} else {
		s.setContext(th.L, ctx)
	}
	// The thread stands for L: the same globals (setfenv(0, t) inside the
	// call carries back out, in run).
	th.L.Env = L.Env
	return th
}

// putThread returns th to the pool once its stack is empty again.
func (s *state) putThread(th *thread) {
	th.L.SetTop(0)
	th.caller = nil
	s.threads = append(s.threads, th)
}

// protect calls the value at index 1 of L with the values above it as its
// arguments, on a thread, and pushes true and the results, or false and
// the error value. handler, when not nil, is xpcall's message handler.
func protect(L *glua.LState, handler glua.LValue) int {
	if f := L.Get(1); f.Type() != glua.LTFunction && L.GetMetaField(f, "__call").Type() != glua.LTFunction {
		L.Push(glua.LFalse)
		L.Push(glua.LString("attempt to call a " + f.Type().String() + " value"))
		return 2
	}
	s := stateOf(L)
	th, obj := s.run(L, 1, L.GetTop(), handler)
	if th == nil {
		L.Push(glua.LFalse)
		L.Push(obj)
		return 2
	}
	n := th.L.GetTop()
	L.Push(glua.LTrue)
	for i := 1; i <= n; i++ {
		L.Push(th.L.Get(i))
	}
	s.putThread(th)
	return n + 1
}

// run calls the function at index from of L with the values up to index
// to as its arguments, on a thread. On success it returns the thread, whose
// stack holds the results until putThread; on failure nil and the error
// value, worded as Lua 5.1 words it.
func (s *state) run(L *glua.LState, from, to int, handler glua.LValue) (*thread, glua.LValue) {
	if s.nesting >= maxNesting {
		return nil, glua.LString("C stack overflow")
	}
	th := s.takeThread(L)
	th.caller = L
	s.running = append(s.running, th)
	s.nesting++
	for i := from; i <= to; i++ {
		th.L.Push(L.Get(i))
	}
	errfunc := s.namerFn()
	if handler != nil {
		errfunc = th.L.NewClosure(rescue, handler)
	}
	err := th.L.PCall(to-from, glua.MultRet, errfunc)
	s.running = s.running[:len(s.running)-1]
	s.nesting--
	L.Env = th.L.Env
	if err == nil {
		return th, nil
	}
	var obj glua.LValue = glua.LString(err.Error())
	api, ok := err.(*glua.ApiError)
	if ok {
		obj = api.Object
	}
	// An error raised through Lua closed the upvalues of the frames it
	// unwound, so the thread is clean; after a Go panic it may not be.
	if ok && api.Type == glua.ApiErrorRun {
		s.putThread(th)
	}
	if ctxOf(L).Err() != nil {
		// A cancelled task stops; its code cannot catch the interruption.
		L.Error(obj, 0)
	}
	return nil, nameArgError(fixMessage(obj), L.Get(from))
}

// pcallGo calls fn(args...) as pcall does, for Go code that catches a
// script's errors in the middle of a call (L.PCall there would be
// gopher-lua's issue 448): the results, or nil and the error value.
func pcallGo(L *glua.LState, fn glua.LValue, args ...glua.LValue) ([]glua.LValue, glua.LValue) {
	s := stateOf(L)
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	th, obj := s.run(L, top+1, L.GetTop(), nil)
	L.SetTop(top)
	if th == nil {
		return nil, obj
	}
	results := make([]glua.LValue, th.L.GetTop())
	for i := range results {
		results[i] = th.L.Get(i + 1)
	}
	s.putThread(th)
	return results, nil
}

// rescue is xpcall's error function on the thread, run where the error
// happened: it calls the user's handler, then raises the handler's result
// so that gopher-lua closes the upvalues of the frames being unwound.
func rescue(L *glua.LState) int {
	// The handler sees the message as Lua 5.1 words it.
	L.Replace(1, fixMessage(nameError(L, L.Get(1), 1)))
	L.Insert(L.Get(glua.UpvalueIndex(1)), 1)
	L.SetTop(2)
	if err := L.PCall(1, 1, nil); err != nil {
		L.Error(glua.LString("error in error handling"), 0)
	}
	L.Error(L.Get(-1), 0)
	return 0
}

func basePcall(L *glua.LState) int {
	L.CheckAny(1)
	return protect(L, nil)
}

// baseXpcall is Lua 5.1's xpcall(f, handler): f gets no arguments.
func baseXpcall(L *glua.LState) int {
	L.CheckAny(2)
	handler := L.Get(2)
	L.SetTop(1)
	return protect(L, handler)
}

// baseError is Lua 5.1's error(v [, level]): a string or number message
// gets the position of the function level levels up (1: error's caller),
// when that is a Lua function.
func baseError(L *glua.LState) int {
	v := L.Get(1)
	level := L.OptInt(2, 1)
	switch v.(type) {
	case glua.LString, glua.LNumber:
		if level > 0 {
			v = glua.LString(where(L, level) + glua.LVAsString(v))
		}
	}
	L.Error(v, 0)
	return 0
}

// baseAssert is Lua 5.1's assert(v [, message]).
func baseAssert(L *glua.LState) int {
	L.CheckAny(1)
	if glua.LVAsBool(L.Get(1)) {
		return L.GetTop()
	}
	msg := "assertion failed!"
	switch m := L.Get(2).(type) {
	case *glua.LNilType:
	case glua.LString, glua.LNumber:
		msg = glua.LVAsString(m)
	default:
		L.TypeError(2, glua.LTString)
	}
	L.Error(glua.LString(where(L, 1)+msg), 0)
	return 0
}

// where is luaL_where: "source:line: " for the Lua function level levels
// up L's stack, "" for a Go function or none.
func where(L *glua.LState, level int) string {
	Lx, dbg, _, ok := frameAt(L, level)
	if !ok {
		return ""
	}
	if _, err := Lx.GetInfo("Sl", dbg, glua.LNil); err != nil || dbg.CurrentLine <= 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d: ", dbg.Source, dbg.CurrentLine)
}

// frameAt finds the frame level levels up L's stack (0: the function
// running). Past the bottom of a protected call's thread the count goes
// on in the state that called pcall, whose level 0 is pcall itself, as in
// Lua 5.1's one stack. bottom says the frame is the first of a thread
// other than the state's main one: a coroutine's function or the one a
// protected call runs, which gopher-lua takes for a main chunk.
func frameAt(L *glua.LState, level int) (Lx *glua.LState, dbg *glua.Debug, bottom, ok bool) {
	s := stateOf(L)
	for {
		if dbg, ok = L.GetStack(level); ok {
			_, more := L.GetStack(level + 1)
			return L, dbg, !more && L != s.L, true
		}
		caller := s.callerOf(L)
		if caller == nil || level < 0 {
			return nil, nil, false, false
		}
		depth := 0
		for _, ok := L.GetStack(depth); ok; _, ok = L.GetStack(depth) {
			depth++
		}
		L, level = caller, level-depth
	}
}

// debugGetinfo is debug.getinfo([thread,] f | level [, what]), whose
// levels count through protected calls as in Lua 5.1 (frameAt), so that
// a function pcall calls can still ask who called pcall.
func debugGetinfo(L *glua.LState) int {
	from, arg := L, 1
	if th, ok := L.Get(1).(*glua.LState); ok {
		from, arg = th, 2
	}
	what := L.OptString(arg+1, "flnSu")
	dbg := &glua.Debug{}
	var fn glua.LValue
	var err error
	bottom := false
	switch v := L.Get(arg).(type) {
	case *glua.LFunction:
		fn, err = from.GetInfo(">"+what, dbg, v)
	case glua.LNumber:
		var ok bool
		if from, dbg, bottom, ok = frameAt(from, int(v)); !ok {
			L.Push(glua.LNil)
			return 1
		}
		fn, err = from.GetInfo(what, dbg, glua.LNil)
	default:
		L.TypeError(arg, glua.LTFunction)
	}
	if err != nil {
		L.ArgError(arg+1, "invalid option")
	}
	t := L.CreateTable(0, 10)
	if strings.Contains(what, "S") {
		if bottom && dbg.What == "main" {
			dbg.What = "Lua"
		}
		if dbg.What == "G" {
			dbg.What, dbg.Source = "C", "=[C]"
		}
		t.RawSetString("what", glua.LString(dbg.What))
		t.RawSetString("source", glua.LString(dbg.Source))
		t.RawSetString("short_src", glua.LString(strings.TrimPrefix(dbg.Source, "=")))
		t.RawSetString("linedefined", glua.LNumber(dbg.LineDefined))
		t.RawSetString("lastlinedefined", glua.LNumber(dbg.LastLineDefined))
	}
	if strings.Contains(what, "l") {
		t.RawSetString("currentline", glua.LNumber(dbg.CurrentLine))
	}
	if strings.Contains(what, "u") {
		t.RawSetString("nups", glua.LNumber(dbg.NUpvalues))
	}
	if strings.Contains(what, "n") {
		name := dbg.Name
		if bottom || name == "main chunk" || name == "(anonymous)" || strings.HasPrefix(name, "<") {
			name = ""
		}
		if name != "" {
			t.RawSetString("name", glua.LString(name))
			t.RawSetString("namewhat", glua.LString("global"))
		} else {
			t.RawSetString("namewhat", glua.LString(""))
		}
	}
	if strings.Contains(what, "f") {
		t.RawSetString("func", fn)
	}
	L.Push(t)
	return 1
}

// callerOf returns the state that called the protected call running on
// L, or nil when L is not such a thread.
func (s *state) callerOf(L *glua.LState) *glua.LState {
	for i := len(s.running) - 1; i >= 0; i-- {
		if s.running[i].L == L {
			return s.running[i].caller
		}
	}
	return nil
}

// fixMessage words gopher-lua's errors as Lua 5.1 does: argument errors
// name the function in quotes ('?' when it has none), and a message raised
// from Go with no Lua position to show loses the space that gopher-lua
// leaves in front of it.
func fixMessage(v glua.LValue) glua.LValue {
	s, ok := v.(glua.LString)
	if !ok {
		return v
	}
	if len(s) > 1 && s[0] == ' ' && s[1] != ' ' {
		s = s[1:]
	}
	return glua.LString(fixVMError(fixArgError(string(s))))
}

// fixVMError words gopher-lua's runtime errors as Lua 5.1 words them,
// save for the variable's name, which gopher-lua does not know:
// "cannot perform add operation between nil and number" is "attempt to
// perform arithmetic on a nil value", "attempt to index a
// non-table object(nil) with key 'x'" is "attempt to index a nil value",
// "lua callstack overflow" is "stack overflow". The position in front
// stays.
func fixVMError(s string) string {
	if i := strings.Index(s, "lua callstack overflow"); i >= 0 {
		return s[:i] + "stack overflow" + s[i+len("lua callstack overflow"):]
	}
	if i := strings.Index(s, "cannot perform "); i >= 0 {
		var op, a, b string
		if _, err := fmt.Sscanf(s[i:], "cannot perform %s operation between %s and %s", &op, &a, &b); err == nil {
			// The first operand that cannot take part, as Lua 5.1 picks
			// it (a string in arithmetic is one that is not numeric).
			if op == "concat" {
				if a == "string" || a == "number" {
					a = b
				}
				return s[:i] + "attempt to concatenate a " + a + " value"
			}
			if a == "number" || (a == "string" && b != "number") {
				a = b
			}
			return s[:i] + "attempt to perform arithmetic on a " + a + " value"
		}
	}
	if i := strings.Index(s, "attempt to compare "); i >= 0 {
		// Two values of one type are "two table values" in Lua 5.1.
		var a, b string
		if n, _ := fmt.Sscanf(s[i:], "attempt to compare %s with %s", &a, &b); n == 2 && a == b && s[i:] == "attempt to compare "+a+" with "+b {
			return s[:i] + "attempt to compare two " + a + " values"
		}
	}
	if i := strings.Index(s, "attempt to index a non-table object("); i >= 0 {
		rest := s[i+len("attempt to index a non-table object("):]
		if j := strings.Index(rest, ")"); j > 0 && strings.HasPrefix(rest[j:], ") with key ") {
			return s[:i] + "attempt to index a " + rest[:j] + " value"
		}
	}
	return s
}

// fixArgError rewrites "bad argument #n to name (" as
// "bad argument #n to 'name' (".
func fixArgError(s string) string {
	const prefix = "bad argument #"
	i := strings.Index(s, prefix)
	if i < 0 {
		return s
	}
	rest := s[i+len(prefix):]
	j := strings.Index(rest, " to ")
	if j < 0 || strings.Trim(rest[:j], "0123456789") != "" {
		return s
	}
	name := rest[j+4:]
	k := strings.Index(name, " (")
	if k <= 0 || strings.HasPrefix(name, "'") {
		return s
	}
	fname := name[:k]
	if fname == "(anonymous)" || fname == "main chunk" || fname == "corountine" {
		// A Go function called by pcall has no caller frame on the
		// thread, so gopher-lua takes it for a main chunk (or, in a
		// coroutine, a "corountine"). pcall and tasks name wirelab's
		// own functions afterwards (nameArgError).
		fname = "?"
	}
	return s[:i+len(prefix)] + rest[:j] + " to '" + fname + "'" + name[k:]
}

// debugTraceback is debug.traceback([thread,] [message [, level]]) in
// Lua 5.1's layout. Inside a protected call it goes on through the states
// that called pcall, so xpcall(f, debug.traceback) shows the whole stack.
func debugTraceback(L *glua.LState) int {
	from, arg := L, 1
	if th, ok := L.Get(1).(*glua.LState); ok {
		from, arg = th, 2
	}
	msg := L.Get(arg)
	if msg != glua.LNil && msg.Type() != glua.LTString && msg.Type() != glua.LTNumber {
		L.Push(msg) // not a message: returned untouched, as in Lua 5.1
		return 1
	}
	level := 1
	if from != L {
		level = 0
	}
	level = L.OptInt(arg+1, level)
	var b strings.Builder
	if msg != glua.LNil {
		b.WriteString(glua.LVAsString(msg))
		b.WriteByte('\n')
	}
	b.WriteString("stack traceback:")
	lines := stackLines(from, level)
	const head, tail = 12, 10 // LEVELS1 and LEVELS2 of Lua 5.1
	if len(lines) > head+tail+1 {
		lines = append(append(lines[:head:head], "..."), lines[len(lines)-tail:]...)
	}
	for _, l := range lines {
		b.WriteString("\n\t")
		b.WriteString(l)
	}
	L.Push(glua.LString(b.String()))
	return 1
}

// stackLines describes the frames of L from level on, and those of the
// states that called the protected calls L runs in, innermost first.
func stackLines(L *glua.LState, level int) []string {
	s := stateOf(L)
	var lines []string
	for {
		caller := s.callerOf(L)
		for ; ; level++ {
			dbg, ok := L.GetStack(level)
			if !ok {
				break
			}
			if f, _ := L.GetInfo("f", dbg, glua.LNil); isRescue(f) {
				continue // xpcall's go-between, which Lua 5.1 does not have
			}
			_, more := L.GetStack(level + 1)
			lines = append(lines, frameLine(L, dbg, !more && L != s.L))
		}
		if caller == nil {
			break
		}
		L, level = caller, 0
	}
	if L == s.L {
		// The main chunk was called from Go, as lua.c calls it from C.
		lines = append(lines, "[C]: ?")
	}
	return lines
}

// isRescue reports whether f is xpcall's rescue function.
func isRescue(f glua.LValue) bool {
	fn, ok := f.(*glua.LFunction)
	return ok && fn.IsG && reflect.ValueOf(fn.GFunction).Pointer() == reflect.ValueOf(rescue).Pointer()
}

// frameLine is one line of a traceback. bottom says the frame is the first
// of a thread that is not the main one (a coroutine's function, or the one
// a protected call runs), which gopher-lua would call a main chunk.
func frameLine(L *glua.LState, dbg *glua.Debug, bottom bool) string {
	if _, err := L.GetInfo("nSl", dbg, glua.LNil); err != nil {
		return "?"
	}
	where := "[C]:"
	if dbg.What != "G" && dbg.Source != "" {
		where = dbg.Source + ":"
		if dbg.CurrentLine > 0 {
			where += fmt.Sprint(dbg.CurrentLine) + ":"
		}
	}
	name := dbg.Name
	switch {
	case dbg.What == "main" && !bottom:
		return where + " in main chunk"
	case bottom || name == "" || name == "?" || name == "(anonymous)" || strings.HasPrefix(name, "<"):
		if dbg.What == "G" || dbg.Source == "" {
			return where + " ?"
		}
		return fmt.Sprintf("%s in function <%s:%d>", where, dbg.Source, dbg.LineDefined)
	}
	return where + " in function '" + name + "'"
}

// patchCoroutine wraps resume and wrap, so that a coroutine's error is
// worded as Lua 5.1 words it, and create and wrap, for the memory budget,
// and adds running.
func patchCoroutine(L *glua.LState, co *glua.LTable) {
	resume, wrap, create := co.RawGetString("resume"), co.RawGetString("wrap"), co.RawGetString("create")
	co.RawSetString("resume", L.NewClosure(coResume, resume))
	co.RawSetString("wrap", L.NewClosure(coWrap, wrap))
	co.RawSetString("create", L.NewClosure(coCreate, create))
	co.RawSetString("running", L.NewFunction(coRunning))
}
