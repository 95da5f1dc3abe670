package lua

import (
	"sort"
	"strings"

	"github.com/wirelab/wirelab/lua/internal/lua51"

	glua "github.com/yuin/gopher-lua"
)

// Runtime errors that name the thing, as Lua 5.1's do: "attempt to index
// local 'x' (a nil value)", "attempt to call method 'recvx' (a nil
// value)", "attempt to perform arithmetic on field 'n' (a string value)".
//
// gopher-lua's VM words these errors without the name ("attempt to index
// a non-table object(nil) with key 'y'", "attempt to call a non-function
// object"). wirelab's protected calls (pcall, xpcall, a script's or task's
// or handler's call) give gopher-lua a message handler, errorNamer, which
// runs where the error was raised, before the stack unwinds: it reads the
// failing instruction and the registers of its frame (vmframe.go), finds
// what the register held the way Lua 5.1's debug library does (the local
// of that register, or the instruction that loaded it: a global, a field
// or method with a constant key, an upvalue), and words the message again.
// Nothing runs unless an error is raised.

// errorNamer is the message handler of wirelab's protected calls. It
// rewords the error raised one level up, then raises it again: raising
// (rather than returning) makes gopher-lua close the upvalues of the
// frames being unwound, which a message handler's return would not.
func errorNamer(L *glua.LState) int {
	L.Error(nameError(L, L.Get(1), 1), 0)
	return 0
}

// namerOf returns the state's errorNamer function, made once per state.
func namerOf(L *glua.LState) *glua.LFunction { return stateOf(L).namerFn() }

func (s *state) namerFn() *glua.LFunction {
	if s.namer == nil {
		s.namer = s.L.NewFunction(errorNamer)
	}
	return s.namer
}

// pcallNamed is L.PCall(nargs, MultRet) with errorNamer as the message
// handler, for the calls that run a script, a task or a handler.
func pcallNamed(L *glua.LState, nargs int) error {
	err := L.PCall(nargs, glua.MultRet, namerOf(L))
	if api, ok := err.(*glua.ApiError); ok {
		api.StackTrace = stripNamer(api.StackTrace)
	}
	return err
}

// stripNamer removes errorNamer's own line from the top of a traceback
// that gopher-lua took after errorNamer raised the error again.
func stripNamer(trace string) string {
	head, rest, ok := strings.Cut(trace, "\n")
	if !ok || head != "stack traceback:" {
		return trace
	}
	line, after, ok := strings.Cut(rest, "\n")
	if !ok || !strings.HasPrefix(line, "\t[G]:") {
		return trace
	}
	return head + "\n" + after
}

// nameError rewords v, an error raised in the frame level levels up L's
// stack, as Lua 5.1 words it. Values that are not such messages come back
// as they are.
func nameError(L *glua.LState, v glua.LValue, level int) (out glua.LValue) {
	s, ok := v.(glua.LString)
	if !ok {
		return v
	}
	f, ok := luaFrameAt(L, level)
	if !ok {
		// Raised by a Go function: its caller's call may make it a method.
		if f, ok := luaFrameAt(L, level+1); ok && isGoFrame(L, level) {
			if m, ok := f.methodArgError(string(s)); ok {
				return glua.LString(m)
			}
		}
		return v
	}
	defer func() {
		// Wording is best effort: a frame it does not understand keeps
		// gopher-lua's message (which fixVMError still mends).
		if recover() != nil {
			out = v
		}
	}()
	if m, ok := f.reword(string(s)); ok {
		return glua.LString(m)
	}
	return v
}

// reword returns msg, raised by the frame's current instruction, in Lua
// 5.1's words.
func (f *luaFrame) reword(msg string) (string, bool) {
	inst := f.proto.Code[f.pc]
	op := opOf(inst)
	const (
		index   = "attempt to index a non-table object("
		call    = "attempt to call a non-function object"
		arith   = "cannot perform "
		unm     = "__unm undefined"
		length  = "__len undefined"
		compare = "attempt to compare "
	)
	switch {
	case strings.Contains(msg, index):
		i := strings.Index(msg, index)
		var obj int
		switch op {
		case glua.OP_GETTABLE, glua.OP_GETTABLEKS, glua.OP_SELF:
			obj = argB(inst)
		case glua.OP_SETTABLE, glua.OP_SETTABLEKS:
			obj = argA(inst)
		default:
			return "", false
		}
		v, ok := f.reg(obj)
		if !ok || !strings.HasPrefix(msg[i+len(index):], v.Type().String()+")") {
			// Not the register's value (an __index chain ended in it).
			return "", false
		}
		return msg[:i] + "attempt to index " + f.describe(obj, v), true
	case strings.Contains(msg, call):
		i := strings.Index(msg, call)
		if op != glua.OP_CALL && op != glua.OP_TAILCALL && op != glua.OP_TFORLOOP {
			return "", false
		}
		a := argA(inst)
		v, ok := f.reg(a)
		if !ok {
			return "", false
		}
		if op == glua.OP_TFORLOOP {
			return msg[:i] + "attempt to call a " + v.Type().String() + " value", true
		}
		return msg[:i] + "attempt to call " + f.describe(a, v), true
	case strings.Contains(msg, arith) && strings.Contains(msg, " operation between "):
		i := strings.Index(msg, arith)
		switch op {
		case glua.OP_ADD, glua.OP_SUB, glua.OP_MUL, glua.OP_DIV, glua.OP_MOD, glua.OP_POW:
			return f.arithError(msg[:i], inst)
		case glua.OP_CONCAT:
			return f.concatError(msg[:i], inst)
		}
		return "", false
	case strings.Contains(msg, unm) && op == glua.OP_UNM:
		i := strings.Index(msg, unm)
		v, ok := f.reg(argB(inst))
		if !ok {
			return "", false
		}
		return msg[:i] + "attempt to perform arithmetic on " + f.describe(argB(inst), v), true
	case strings.Contains(msg, length) && op == glua.OP_LEN:
		i := strings.Index(msg, length)
		v, ok := f.reg(argB(inst))
		if !ok {
			return "", false
		}
		return msg[:i] + "attempt to get length of " + f.describe(argB(inst), v), true
	case strings.Contains(msg, compare):
		return "", false // fixVMError words it; Lua 5.1 names nothing there
	}
	return "", false
}

// arithError words a failed ADD..POW. Lua 5.1 blames the second operand
// when the first is a number or a numeric string, else the first.
func (f *luaFrame) arithError(pos string, inst uint32) (string, bool) {
	b, c := argB(inst), argC(inst)
	vb, ok1 := f.rk(b)
	vc, ok2 := f.rk(c)
	if !ok1 || !ok2 {
		return "", false
	}
	if what, ok := f.forBound(inst, vb); ok {
		return pos + "'for' " + what + " must be a number", true
	}
	blame, v := b, vb
	if isNumeric(vb) {
		blame, v = c, vc
	}
	if blame&rkConst != 0 {
		return pos + "attempt to perform arithmetic on a " + v.Type().String() + " value", true
	}
	return pos + "attempt to perform arithmetic on " + f.describe(blame, v), true
}

// forBound recognises the bound - 0 that the loader makes of a numeric
// for's bound (load.go's toNumber): a SUB of the constant 0 into one of the
// three registers of the FORPREP that follows. It returns which bound.
func (f *luaFrame) forBound(inst uint32, v glua.LValue) (string, bool) {
	if opOf(inst) != glua.OP_SUB || argC(inst)&rkConst == 0 || isNumeric(v) {
		return "", false
	}
	if k, _ := f.rk(argC(inst)); k != glua.LNumber(0) {
		return "", false
	}
	a := argA(inst)
	for pc := f.pc + 1; pc < len(f.proto.Code); pc++ {
		next := f.proto.Code[pc]
		switch opOf(next) {
		case glua.OP_FORPREP:
			if d := a - argA(next); d >= 0 && d <= 2 {
				return [...]string{"initial value", "limit", "step"}[d], true
			}
			return "", false
		case glua.OP_JMP, glua.OP_RETURN, glua.OP_CLOSURE, glua.OP_FORLOOP, glua.OP_TFORLOOP:
			return "", false
		}
	}
	return "", false
}

// concatError words a failed CONCAT of registers B..C as Lua 5.1 does: it
// concatenates from the right, a pair at a time, and blames the left one
// of the first pair that fails unless that one is a string or number.
func (f *luaFrame) concatError(pos string, inst uint32) (string, bool) {
	b, c := argB(inst), argC(inst)
	vals := make([]glua.LValue, c-b+1)
	for i := range vals {
		v, ok := f.reg(b + i)
		if !ok {
			return "", false
		}
		if f.L.GetMetaField(v, "__concat") != glua.LNil {
			return "", false // a metamethod ran: the pair that failed is unknown
		}
		vals[i] = v
	}
	top := len(vals) - 1
	for top > 0 {
		p1, p2 := vals[top-1], vals[top]
		if !isStrNum(p1) || !isStrNum(p2) {
			blame, v := b+top-1, p1
			if isStrNum(p1) {
				blame, v = b+top, p2
			}
			return pos + "attempt to concatenate " + f.describe(blame, v), true
		}
		// Both strings: as many more as there are go in at once.
		i := top - 1
		for i > 0 && isStrNum(vals[i-1]) {
			i--
		}
		vals[i] = glua.LString("")
		top = i
	}
	return "", false
}

func isStrNum(v glua.LValue) bool {
	t := v.Type()
	return t == glua.LTString || t == glua.LTNumber
}

// isNumeric reports whether v takes part in arithmetic: a number or a
// string that reads as one.
func isNumeric(v glua.LValue) bool {
	switch v := v.(type) {
	case glua.LNumber:
		return true
	case glua.LString:
		_, ok := lua51.ParseNumber(string(v))
		return ok
	}
	return false
}

// describe is what Lua 5.1 says of register r holding v: "local 'x' (a nil
// value)", "global 'sokcet' (a nil value) (did you mean socket?)", or "a
// nil value" when the register has no name.
func (f *luaFrame) describe(r int, v glua.LValue) string {
	kind, name := f.objName(r, f.pc, 0)
	what := "(a " + v.Type().String() + " value)"
	if kind == "" {
		return "a " + v.Type().String() + " value"
	}
	s := kind + " '" + name + "' " + what
	if kind == "global" && v == glua.LNil && len(name) >= 3 {
		// (A one- or two-letter name is one edit from too many others.)
		names := GlobalNames(f.L)
		if f.fn.Env != f.L.G.Global {
			names = globalNames(f.fn.Env)
		}
		s += didYouMean(name, names)
	}
	return s
}

// objName is Lua 5.1's getobjname: the kind ("local", "global", "field",
// "method", "upvalue") and name of what register r held at instruction pc,
// or "" when it was a value with no name.
func (f *luaFrame) objName(r, pc, depth int) (string, string) {
	if name, ok := f.localName(r, pc); ok {
		return "local", name
	}
	if !cleanLocals(f.proto) {
		// Register r may be a local, whose name is lost: naming where its
		// value came from instead would mislead.
		return "", ""
	}
	at := f.setter(r, pc)
	if at < 0 || depth > 8 {
		return "", ""
	}
	inst := f.proto.Code[at]
	switch opOf(inst) {
	case glua.OP_GETGLOBAL:
		if k, ok := f.constString(argBx(inst)); ok {
			return "global", k
		}
	case glua.OP_MOVE:
		if b := argB(inst); b < argA(inst) {
			return f.objName(b, at, depth+1)
		}
	case glua.OP_GETTABLE, glua.OP_GETTABLEKS:
		if c := argC(inst); c&rkConst != 0 {
			if k, ok := f.constString(c &^ rkConst); ok {
				return "field", k
			}
		}
	case glua.OP_GETUPVAL:
		if b := argB(inst); b < len(f.proto.DbgUpvalues) {
			return "upvalue", f.proto.DbgUpvalues[b]
		}
	case glua.OP_SELF:
		if c := argC(inst); c&rkConst != 0 && argA(inst) == r {
			if k, ok := f.constString(c &^ rkConst); ok {
				return "method", k
			}
		}
	}
	return "", ""
}

// localName is the name of the local in register r at instruction pc.
// DbgLocals hold, in StartPc, the first instruction where the local is
// live, and in EndPc the last (gopher-lua's own LocalName is off by one
// for this use); repairLocals (locals.go) sets EndPc to -1 for a local
// that is never live.
func (f *luaFrame) localName(r, pc int) (string, bool) {
	if !cleanLocals(f.proto) {
		return "", false
	}
	n := r
	for _, l := range f.proto.DbgLocals {
		if l.StartPc > pc {
			break
		}
		if pc <= l.EndPc {
			if n == 0 {
				return l.Name, true
			}
			n--
		}
	}
	return "", false
}

// cleanLocals reports whether p's DbgLocals can be trusted. gopher-lua
// (v1.1.2, compile.go's EndScope) records the end of a block's locals in
// the entries numbered by the locals' registers, not by their own index:
// right only until a block with locals has ended and another local is
// declared, after which entries and registers no longer line up. The last
// entry then never gets an end (EndPc 0), which is how this tells.
// wirelab's compile repairs the ends (repairLocals), giving every entry
// one (-1 for a local never live); a function it could not repair keeps
// gopher-lua's and is told here as before.
func cleanLocals(p *glua.FunctionProto) bool {
	n := len(p.DbgLocals)
	return n == 0 || p.DbgLocals[n-1].EndPc != 0 || p.DbgLocals[n-1].StartPc == 0
}

func (f *luaFrame) constString(i int) (string, bool) {
	if i < len(f.proto.Constants) {
		if s, ok := f.proto.Constants[i].(glua.LString); ok {
			return string(s), true
		}
	}
	return "", false
}

// setter returns the last instruction before pc that set register r, or
// -1, as Lua 5.1's symbolic execution finds it: straight through the code,
// taking the forward jumps that land before pc (the code they skip did not
// run to reach pc on that path).
func (f *luaFrame) setter(r, pc int) int {
	last := -1
	code := f.proto.Code
	for i := 0; i < pc; i++ {
		inst := code[i]
		a := argA(inst)
		switch op := opOf(inst); op {
		case glua.OP_JMP:
			if dest := i + 1 + argSBx(inst); i < dest && dest <= pc {
				i = dest - 1
			}
		case glua.OP_CLOSURE:
			if a == r {
				last = i
			}
			if p := argBx(inst); p < len(f.proto.FunctionPrototypes) {
				i += int(f.proto.FunctionPrototypes[p].NumUpvalues)
			}
		case glua.OP_LOADNIL:
			if a <= r && r <= argB(inst) {
				last = i
			}
		case glua.OP_CALL, glua.OP_TAILCALL, glua.OP_VARARG:
			if r >= a {
				last = i
			}
		case glua.OP_TFORLOOP:
			if r >= a+2 {
				last = i
			}
		case glua.OP_SELF:
			if r == a || r == a+1 {
				last = i
			}
		case glua.OP_FORLOOP:
			if r == a || r == a+3 {
				last = i
			}
		case glua.OP_SETGLOBAL, glua.OP_SETUPVAL, glua.OP_SETTABLE, glua.OP_SETTABLEKS,
			glua.OP_EQ, glua.OP_LT, glua.OP_LE, glua.OP_TEST, glua.OP_RETURN,
			glua.OP_SETLIST, glua.OP_CLOSE, glua.OP_NOP:
		default:
			if a == r {
				last = i
			}
		}
	}
	return last
}

// globalNames lists the names env holds, and those its __index tables
// hold, for suggesting one in a function given other globals (setfenv).
func globalNames(env *glua.LTable) []string {
	var names []string
	seen := map[*glua.LTable]bool{}
	for t := env; t != nil && !seen[t] && len(seen) < 4; {
		seen[t] = true
		t.ForEach(func(k, v glua.LValue) {
			if s, ok := k.(glua.LString); ok && v != glua.LNil {
				names = append(names, string(s))
			}
		})
		mt, _ := t.Metatable.(*glua.LTable)
		if mt == nil {
			break
		}
		t, _ = mt.RawGetString("__index").(*glua.LTable)
	}
	sort.Strings(names)
	return names
}

// callContext says whether the instruction at the frame's pc reads a value
// that is then called: a SELF (c:name(...)), or a GETTABLE whose register
// the next CALL calls before anything else sets it (t.name(...)).
func (f *luaFrame) callContext() (kind string, ok bool) {
	inst := f.proto.Code[f.pc]
	switch opOf(inst) {
	case glua.OP_SELF:
		return "method", true
	case glua.OP_GETTABLE, glua.OP_GETTABLEKS:
	default:
		return "", false
	}
	a := argA(inst)
	for pc := f.pc + 1; pc < len(f.proto.Code); pc++ {
		next := f.proto.Code[pc]
		switch op := opOf(next); op {
		case glua.OP_CALL, glua.OP_TAILCALL:
			if argA(next) == a {
				return "field", true
			}
			if argA(next) < a {
				return "", false
			}
		case glua.OP_JMP, glua.OP_RETURN, glua.OP_CLOSURE, glua.OP_FORPREP, glua.OP_FORLOOP, glua.OP_TFORLOOP,
			glua.OP_EQ, glua.OP_LT, glua.OP_LE, glua.OP_TEST, glua.OP_TESTSET, glua.OP_LOADNIL, glua.OP_VARARG,
			glua.OP_SETLIST, glua.OP_CLOSE:
			return "", false
		case glua.OP_SETGLOBAL, glua.OP_SETUPVAL, glua.OP_SETTABLE, glua.OP_SETTABLEKS:
		default:
			if argA(next) <= a {
				return "", false
			}
		}
	}
	return "", false
}

// callKind says, from a Go __index (level 0 on L) that found a method or
// a module field missing, whether the script is calling what it reads,
// and how Lua 5.1 would name it then: "method" (c:name()) or "field"
// (t.name()).
func callKind(L *glua.LState) (string, bool) {
	f, ok := luaFrameAt(L, 1)
	if !ok {
		return "", false
	}
	return f.callContext()
}

// luaSocketHints are what wirelab has instead of LuaSocket's names, for
// scripts written against LuaSocket, by class or module and name.
var luaSocketHints = map[string]string{
	"conn.receive":      `wirelab: use c:recvline() for "*l", c:recv_exact(n) for a count`,
	"conn.getpeername":  "wirelab: use c:peer()",
	"conn.getsockname":  "wirelab: use c:local()",
	"conn.setoption":    "wirelab: options go in the table of socket.connect(host, port, {...})",
	"conn.connect":      "wirelab: use socket.connect(host, port)",
	"listener.listen":   "wirelab: use socket.listen(host, port)",
	"listener.bind":     "wirelab: use socket.listen(host, port)",
	"socket.tcp":        "wirelab: use socket.connect(host, port), or socket.listen(host, port) for a server",
	"socket.tcp4":       "wirelab: use socket.connect(host, port)",
	"socket.tcp6":       "wirelab: use socket.connect(host, port)",
	"socket.bind":       "wirelab: use socket.listen(host, port)",
	"socket.settimeout": "wirelab: use c:settimeout(s) on a conn, or socket.connect(host, port, {timeout = s})",
	"socket.gettime":    "wirelab: use task.now()",
	"socket.sleep":      "wirelab: use task.sleep(s)",
	"socket.select":     "wirelab: run each connection in a task (task.spawn) or use socket.serve",
}
