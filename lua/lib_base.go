package lua

import (
	"fmt"
	"runtime"
	"runtime/metrics"

	"github.com/wirelab/wirelab/lua/internal/lua51"

	glua "github.com/yuin/gopher-lua"
)

// Corrections to gopher-lua's base library, so that select, unpack,
// getfenv, setfenv and collectgarbage behave as Lua 5.1's, and to its
// package library, whose package.loaded misses the libraries opened
// before it and whose loadlib raised instead of failing as a 5.1 built
// without dynamic libraries does.

// loadlib is package.loadlib(path, name): wirelab loads no C libraries,
// so it fails as a Lua 5.1 built without them does.
func loadlib(L *glua.LState) int {
	L.CheckString(1)
	L.CheckString(2)
	L.Push(glua.LNil)
	L.Push(glua.LString("dynamic libraries not enabled; check your Lua installation"))
	L.Push(glua.LString("absent"))
	return 3
}

// baseSelect is select: select("#", ...) counts (any string starting
// with "#" does), select(n, ...) returns from the nth on, counting from
// the end when n is negative.
func baseSelect(L *glua.LState) int {
	n := L.GetTop()
	if s, ok := L.Get(1).(glua.LString); ok && len(s) > 0 && s[0] == '#' {
		L.Push(glua.LNumber(n - 1))
		return 1
	}
	i := lua51.IntArg(L, 1)
	if i < 0 {
		i = n + i
	} else if i > n {
		i = n
	}
	if i < 1 {
		L.ArgError(1, "index out of range")
	}
	return n - i
}

// maxResults is how many values a Go function may return at once, as
// Lua 5.1's C stack allows (LUAI_MAXCSTACK).
const maxResults = 8000

// baseUnpack is unpack(t [, i [, j]]): t[i], ..., t[j], raw.
func baseUnpack(L *glua.LState) int {
	t := lua51.TableArg(L, 1)
	i := lua51.OptIntArg(L, 2, 1)
	j := lua51.OptIntArg(L, 3, t.Len())
	if i > j {
		return 0
	}
	n := j - i + 1
	if n <= 0 || n > maxResults-L.GetTop() {
		L.RaiseError("too many results to unpack")
	}
	for ; i <= j; i++ {
		L.Push(lua51.RawGeti(t, i))
	}
	return n
}

// fenvTarget is the function that getfenv and setfenv address: their
// first argument when it is a function, else the function running at
// that level of the stack (1, the caller, by default for getfenv). It
// returns nil for level 0, the running thread.
func fenvTarget(L *glua.LState, opt bool) *glua.LFunction {
	if fn, ok := L.Get(1).(*glua.LFunction); ok {
		return fn
	}
	level := 1
	if opt {
		level = lua51.OptIntArg(L, 1, 1)
	} else {
		level = lua51.IntArg(L, 1)
	}
	if level < 0 {
		L.ArgError(1, "level must be non-negative")
	}
	if level == 0 {
		return nil
	}
	dbg, ok := L.GetStack(level)
	if !ok {
		L.ArgError(1, "invalid level")
	}
	fn, err := L.GetInfo("f", dbg, glua.LNil)
	f, isFn := fn.(*glua.LFunction)
	if err != nil || !isFn {
		L.RaiseError("no function environment for tail call at level %d", level)
	}
	return f
}

// baseGetfenv is getfenv([f]): the environment of a function or of the
// function at a stack level; a Go function's is the thread's.
func baseGetfenv(L *glua.LState) int {
	fn := fenvTarget(L, true)
	if fn == nil || fn.IsG || fn.Env == nil {
		L.Push(L.Env)
	} else {
		L.Push(fn.Env)
	}
	return 1
}

// baseSetfenv is setfenv(f, t): it sets the environment of a Lua function,
// or of the thread for level 0, and returns the function.
func baseSetfenv(L *glua.LState) int {
	env := lua51.TableArg(L, 2)
	fn := fenvTarget(L, false)
	if fn == nil {
		L.Env = env
		return 0
	}
	if fn.IsG {
		L.RaiseError("'setfenv' cannot change environment of given object")
	}
	fn.Env = env
	L.Push(fn)
	return 1
}

// firstResult returns what f({}) returns first: the iterator of pairs or
// ipairs.
func firstResult(L *glua.LState, f glua.LValue) glua.LValue {
	L.Push(f)
	L.Push(L.NewTable())
	L.Call(1, 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// iterators are gopher-lua's iterators of pairs and ipairs.
type iterators struct{ pairs, ipairs glua.LValue }

// baseNext is next(t [, k]): the pair after k in t, raw.
func baseNext(L *glua.LState) int {
	t := lua51.TableArg(L, 1)
	materialize(L, t)
	k, v := t.Next(L.Get(2))
	if k == glua.LNil {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(k)
	L.Push(v)
	return 2
}

// pairsFn is pairs(t): next, t, nil.
func (it *iterators) pairsFn(L *glua.LState) int {
	t := lua51.TableArg(L, 1)
	materialize(L, t)
	L.Push(it.pairs)
	L.Push(t)
	L.Push(glua.LNil)
	return 3
}

// ipairsFn is ipairs(t): an iterator over t[1], t[2], ... up to the first
// nil, t, 0.
func (it *iterators) ipairsFn(L *glua.LState) int {
	t := lua51.TableArg(L, 1)
	L.Push(it.ipairs)
	L.Push(t)
	L.Push(glua.LNumber(0))
	return 3
}

// baseSetmetatable is setmetatable(t, mt): tables only (gopher-lua's set
// the metatable of all numbers for setmetatable(1, mt)), and mt must be
// given, nil or a table.
func baseSetmetatable(L *glua.LState) int {
	t := lua51.TableArg(L, 1)
	materialize(L, t)
	mt := L.Get(2)
	if L.GetTop() < 2 || mt.Type() != glua.LTNil && mt.Type() != glua.LTTable {
		L.ArgError(2, "nil or table expected")
	}
	if L.GetMetaField(t, "__metatable") != glua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	L.SetMetatable(t, mt)
	L.SetTop(1)
	return 1
}

// baseNewproxy is newproxy([b]): a new userdata with no metatable, with a
// new one for true, or sharing the metatable of the userdata b. (5.1
// takes only a proxy's metatable; this takes any userdata's.)
func baseNewproxy(L *glua.LState) int {
	ud := L.NewUserData()
	switch v := L.Get(1).(type) {
	case glua.LBool:
		if v {
			L.SetMetatable(ud, L.NewTable())
		}
	case *glua.LUserData:
		mt := L.GetMetatable(v)
		if mt == glua.LNil {
			L.ArgError(1, "boolean or proxy expected")
		}
		L.SetMetatable(ud, mt)
	default:
		if v != glua.LNil {
			L.ArgError(1, "boolean or proxy expected")
		}
	}
	L.Push(ud)
	return 1
}

// gcState is what collectgarbage remembers for a state. Go's collector
// serves every state of the process, so the pause and step multiplier
// are only remembered, "stop" and "restart" do nothing, and "count" is
// the process's heap.
type gcState struct {
	set            bool // pause and stepmul hold values
	pause, stepmul int
}

// baseCollectgarbage is collectgarbage, with the state's settings.
func baseCollectgarbage(L *glua.LState) int {
	gc := &stateOf(L).gc
	if !gc.set {
		*gc = gcState{set: true, pause: 200, stepmul: 200}
	}
	return gc.collectgarbage(L)
}

// baseGetmetatable is getmetatable(v): its __metatable field when it has
// one, else the metatable. The libraries' views (libviews.go) show the
// libraries' own.
func baseGetmetatable(L *glua.LState) int {
	v := L.CheckAny(1)
	unshare(L, v)
	L.Push(L.GetMetatable(v))
	return 1
}

// gcOptions are collectgarbage's options.
var gcOptions = map[string]bool{"stop": true, "restart": true, "collect": true,
	"count": true, "step": true, "setpause": true, "setstepmul": true}

// collectgarbage is collectgarbage([opt [, arg]]), returning what 5.1's
// returns: 0 for most options, the previous value for "setpause" and
// "setstepmul", KiB in use for "count", and true (a cycle finished) for
// "step", which runs a full collection as "collect" does.
func (gc *gcState) collectgarbage(L *glua.LState) int {
	opt := "collect"
	if L.Get(1) != glua.LNil {
		opt = L.CheckString(1)
	}
	if !gcOptions[opt] {
		L.ArgError(1, fmt.Sprintf("invalid option '%s'", opt))
	}
	arg := lua51.OptIntArg(L, 2, 0)
	switch opt {
	case "collect":
		runtime.GC()
	case "step":
		runtime.GC()
		L.Push(glua.LTrue)
		return 1
	case "count":
		L.Push(glua.LNumber(float64(heapBytes()) / 1024))
		return 1
	case "setpause":
		L.Push(glua.LNumber(gc.pause))
		gc.pause = arg
		return 1
	case "setstepmul":
		L.Push(glua.LNumber(gc.stepmul))
		gc.stepmul = arg
		return 1
	}
	L.Push(glua.LNumber(0))
	return 1
}

// baseGcinfo is gcinfo(): KiB in use, as an integer.
func baseGcinfo(L *glua.LState) int {
	L.Push(glua.LNumber(heapBytes() / 1024))
	return 1
}

// heapBytes returns the bytes of the heap's live and not yet swept
// objects, without stopping the world as runtime.ReadMemStats does.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// baseFuncs are wirelab's functions of the base library, Lua 5.1's where
// gopher-lua's differ: here, in load.go (loading chunks), pcall.go
// (protected calls and errors), internal/lua51 (tostring, tonumber) and
// libviews.go (rawget, rawset on the shared libraries).
var baseFuncs = map[string]glua.LGFunction{
	"next":           baseNext,
	"setmetatable":   baseSetmetatable,
	"newproxy":       baseNewproxy,
	"select":         baseSelect,
	"unpack":         baseUnpack,
	"getfenv":        baseGetfenv,
	"setfenv":        baseSetfenv,
	"collectgarbage": baseCollectgarbage,
	"getmetatable":   baseGetmetatable,
	"rawget":         rawgetView,
	"rawset":         rawsetView,
	"gcinfo":         baseGcinfo,
	"tostring":       lua51.Tostring,
	"tonumber":       lua51.Tonumber,
	"loadstring":     baseLoadstring,
	"load":           baseLoad,
	"loadfile":       baseLoadfile,
	"dofile":         baseDofile,
	"pcall":          basePcall,
	"xpcall":         baseXpcall,
	"error":          baseError,
	"assert":         baseAssert,
}

// patchBase sets pairs and ipairs, which call gopher-lua's own for plain
// tables.
func patchBase(L *glua.LState, g *glua.LTable) {
	it := &iterators{pairs: firstResult(L, g.RawGetString("pairs")), ipairs: firstResult(L, g.RawGetString("ipairs"))}
	g.RawSetString("pairs", L.NewFunction(it.pairsFn))
	g.RawSetString("ipairs", L.NewFunction(it.ipairsFn))
}

// patchPackage makes require find every library, opened or not, and adds
// Lua 5.1's package.loadlib.
func patchPackage(L *glua.LState, pkg *glua.LTable) {
	loaded, ok1 := pkg.RawGetString("loaded").(*glua.LTable)
	preload, ok2 := pkg.RawGetString("preload").(*glua.LTable)
	if !ok1 || !ok2 {
		return
	}
	loaded.RawSetString(glua.LoadLibName, pkg)
	pkg.RawSetString("loadlib", L.NewFunction(loadlib))
	names := []string{"_G", glua.StringLibName, glua.TabLibName}
	for name := range gopherLibs {
		names = append(names, name)
	}
	for _, name := range names {
		if name == glua.LoadLibName || stateOf(L).rt.omit[name] {
			continue
		}
		if lib, ok := L.G.Global.RawGetString(name).(*glua.LTable); ok {
			loaded.RawSetString(name, lib)
			continue
		}
		// Not opened yet: naming the global opens it.
		preload.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			L.Push(L.GetGlobal(name))
			return 1
		}))
	}
}
