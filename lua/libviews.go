package lua

import (
	"sync"

	"github.com/wirelab/wirelab/lua/internal/lua51"

	glua "github.com/yuin/gopher-lua"
)

// Shared libraries. A server holds a state per connection, and a state
// that holds its own copy of the base, string and table libraries and of
// wirelab's modules carries about 17 KiB of tables: a table field costs
// some 150 bytes in gopher-lua. So those libraries are built once per
// process, and a state sees them through views:
//
//   - Its globals table starts empty, with a metatable (shared, never
//     written) whose __index is the shared base library, whose own __index
//     loads the other libraries on first use (lazyIndex).
//   - string, table and each wirelab module are, in a state, an empty
//     table whose metatable's __index is the shared library.
//   - Strings' metatable indexes the shared string library until the
//     state's string table is given a field of its own.
//
// Assignments land in the view (a script's string.trim or print = myprint
// is its own). Everything by which a script could tell a view from the
// library itself makes the view a real copy first ("materializes" it):
// next, pairs, getmetatable, setmetatable and their debug versions, rawset
// of nil and assigning nil to a library's field. Then the state holds its
// own copy, as it did before views, and nothing shared is ever written.
//
// Shared functions are Go functions; they run on whichever state calls
// them, as the class methods do (classes.go).

// A sharedSet is the libraries every state reads.
type sharedSet struct {
	base *glua.LTable // the base library's fields, but _G
	// globalMeta is the metatable of a state's globals until they are
	// materialized.
	globalMeta *glua.LTable
	// libs are string, table and wirelab's modules, by name; metas map
	// the metatable of a view to the library it shows (globalMeta to
	// base).
	libs  map[string]*glua.LTable
	metas map[*glua.LTable]*glua.LTable
	// stringMeta is strings' metatable while a state's string library is
	// a view with no fields of its own.
	stringMeta *glua.LTable
	// index and newindex are lazyIndex and viewNewindex as Lua values;
	// require is the package library's require.
	index, newindex, require glua.LValue
	// env is the environment of every shared function: the globals of
	// the state they were made in, which no script may reach.
	env *glua.LTable
}

var (
	sharedOnce sync.Once
	sharedLibs *sharedSet
)

// shared returns the shared libraries, built on first use.
func shared() *sharedSet {
	sharedOnce.Do(func() { sharedLibs = buildShared() })
	return sharedLibs
}

// buildShared builds the shared libraries in a state of their own that
// nothing runs in afterwards.
func buildShared() *sharedSet {
	owner := glua.NewState(stateOptions)
	ud := owner.NewUserData()
	ud.Value = &state{L: owner}
	owner.G.Registry.RawSetInt(1, ud)
	for _, lib := range libOrder {
		if lib.shared {
			openLib(owner, lib.name)
		}
	}
	g := owner.G.Global
	sh := &sharedSet{
		base:     owner.NewTable(),
		libs:     map[string]*glua.LTable{},
		metas:    map[*glua.LTable]*glua.LTable{},
		index:    owner.NewFunction(lazyIndex),
		newindex: owner.NewFunction(viewNewindex),
		require:  g.RawGetString("require"),
		env:      g,
	}
	for _, name := range []string{glua.StringLibName, glua.TabLibName} {
		sh.libs[name] = g.RawGetString(name).(*glua.LTable)
	}
	g.ForEach(func(k, v glua.LValue) {
		if name, ok := k.(glua.LString); ok && sh.libs[string(name)] == nil && name != "_G" {
			sh.base.RawSetString(string(name), v)
		}
	})
	sh.base.RawSetString("print", owner.NewFunction(basePrint))
	sh.base.RawSetString("require", owner.NewFunction(lazyRequire))
	sh.base.Metatable = sh.viewMeta(owner, nil)
	sh.base.Metatable.(*glua.LTable).RawSetString("__index", sh.index)
	for name, m := range modules {
		sh.libs[name] = openModule(owner, m)
	}
	sh.globalMeta = sh.viewMeta(owner, sh.base)
	for _, lib := range sh.libs {
		sh.viewMeta(owner, lib)
	}
	sh.stringMeta = owner.NewTable()
	sh.stringMeta.RawSetString("__index", sh.libs[glua.StringLibName])
	return sh
}

// viewMeta makes the metatable of views of lib.
func (sh *sharedSet) viewMeta(owner *glua.LState, lib *glua.LTable) *glua.LTable {
	mt := owner.NewTable()
	if lib != nil {
		mt.RawSetString("__index", lib)
		mt.RawSetString("__newindex", sh.newindex)
		sh.metas[mt] = lib
	}
	return mt
}

// viewOf returns the library that t is a view of, if it is one.
func viewOf(t *glua.LTable) (*glua.LTable, bool) {
	mt, ok := t.Metatable.(*glua.LTable)
	if !ok {
		return nil, false
	}
	lib, ok := shared().metas[mt]
	return lib, ok
}

// newView returns a view of the shared library name in L.
func newView(L *glua.LState, name string) *glua.LTable {
	sh := shared()
	t := L.CreateTable(0, 0)
	lib := sh.libs[name]
	for mt, l := range sh.metas {
		if l == lib {
			t.Metatable = mt
			break
		}
	}
	return t
}

// materialize makes t, if it is a view of a shared library, a table of
// its own: the library's fields it lacks are copied in, and its metatable
// becomes the library's (none for string and table; the one that names a
// missing field for a module), or for the globals one that loads the other
// libraries on first use.
func materialize(L *glua.LState, t *glua.LTable) {
	lib, ok := viewOf(t)
	if !ok {
		return
	}
	lib.ForEach(func(k, v glua.LValue) {
		if t.RawGet(k) == glua.LNil {
			t.RawSet(k, v)
		}
	})
	if t == L.G.Global {
		sh := shared()
		mt := L.NewTable()
		mt.RawSetString("__index", sh.index)
		mt.RawSetString("__newindex", sh.newindex)
		t.Metatable = mt
		t.RawSetString("_G", t)
		return
	}
	t.Metatable = lib.Metatable
	wrote(L, t)
}

// ownStrings gives strings of L a metatable indexing lib, L's string
// library, unless the script has set one of its own.
func ownStrings(L *glua.LState, lib *glua.LTable) {
	if L.GetMetatable(glua.LString("")) != shared().stringMeta {
		return
	}
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", lib)
	L.SetMetatable(glua.LString(""), mt)
}

// unshare materializes whatever of v's a script is about to see whole:
// v itself if it is a view, and for a string, strings' metatable.
func unshare(L *glua.LState, v glua.LValue) {
	switch v := v.(type) {
	case *glua.LTable:
		materialize(L, v)
	case glua.LString:
		if L.GetMetatable(v) == shared().stringMeta {
			ownStrings(L, loadLib(L, glua.StringLibName).(*glua.LTable))
		}
	}
}

// viewNewindex is the __newindex of the globals and of library views:
// the value is set in the view itself. Assigning nil to a shared field
// first materializes the view, so that the field is gone rather than
// showing through. Assigning nil to a library global not loaded yet
// (io = nil) keeps it from loading.
func viewNewindex(L *glua.LState) int {
	t := L.CheckTable(1)
	k, v := L.Get(2), L.Get(3)
	if lib, ok := viewOf(t); ok && v == glua.LNil && lib.RawGet(k) != glua.LNil {
		materialize(L, t)
	}
	if t == L.G.Global {
		if name, ok := k.(glua.LString); ok && v == glua.LNil && loadable(L, string(name)) {
			s := stateOf(L)
			if s.removed == nil {
				s.removed = map[string]bool{}
			}
			s.removed[string(name)] = true
		}
	}
	L.RawSet(t, k, v)
	wrote(L, t)
	return 0
}

// loadable reports whether the global name is a library that loads on
// first use in L.
func loadable(L *glua.LState, name string) bool {
	if _, ok := shared().libs[name]; ok {
		return true
	}
	if _, ok := gopherLibs[name]; ok {
		return true
	}
	if _, ok := lazyGlobals[name]; ok {
		return true
	}
	_, ok := stateOf(L).rt.module(name)
	return ok
}

// rawField is rawget's answer for t: a view answers with the library's
// field it does not override, and the globals with _G.
func rawField(L *glua.LState, t *glua.LTable, k glua.LValue) glua.LValue {
	v := t.RawGet(k)
	if v != glua.LNil {
		return v
	}
	lib, ok := viewOf(t)
	if !ok {
		return v
	}
	if t == L.G.Global && k == glua.LString("_G") {
		return t
	}
	return lib.RawGet(k)
}

// eachField calls f with every field of t, a library view's fields of the
// library included.
func eachField(L *glua.LState, t *glua.LTable, f func(k, v glua.LValue)) {
	t.ForEach(f)
	lib, ok := viewOf(t)
	if !ok {
		return
	}
	lib.ForEach(func(k, v glua.LValue) {
		if t.RawGet(k) == glua.LNil {
			f(k, v)
		}
	})
}

// basePrint is print, writing through the state's runtime.
func basePrint(L *glua.LState) int { return stateOf(L).print(L) }

// rawgetView is rawget(t, k).
func rawgetView(L *glua.LState) int {
	t := lua51.TableArg(L, 1)
	L.CheckAny(2)
	L.Push(rawField(L, t, L.Get(2)))
	return 1
}

// rawsetView is rawset(t, k, v); nil over a library's field materializes
// a view first.
func rawsetView(L *glua.LState) int {
	t := lua51.TableArg(L, 1)
	L.CheckAny(2)
	L.CheckAny(3)
	if L.Get(3) == glua.LNil {
		materialize(L, t)
	}
	L.RawSet(t, L.Get(2), L.Get(3))
	wrote(L, t)
	L.SetTop(1)
	return 1
}

// wrote notes a field set in t: when t is L's string library, strings
// must index it from now on.
func wrote(L *glua.LState, t *glua.LTable) {
	if L.G.Global.RawGetString(glua.StringLibName) == t {
		ownStrings(L, t)
	}
}

// debugGetmetatable is debug.getmetatable(v): v's metatable, the
// libraries' own for their views.
func debugGetmetatable(L *glua.LState) int {
	v := L.CheckAny(1)
	unshare(L, v)
	L.Push(L.GetMetatable(v))
	return 1
}

// debugSetmetatable is debug.setmetatable(v, mt).
func debugSetmetatable(L *glua.LState) int {
	L.CheckTypes(2, glua.LTNil, glua.LTTable)
	v := L.Get(1)
	unshare(L, v)
	L.SetMetatable(v, L.Get(2))
	L.SetTop(1)
	return 1
}

// isShared reports whether fn is one of the shared functions.
func isShared(fn *glua.LFunction) bool { return fn.IsG && fn.Env == shared().env }

// debugGetfenv is debug.getfenv(v): a Go function's environment is the
// globals of the state asking, as getfenv has it.
func debugGetfenv(L *glua.LState) int {
	v := L.CheckAny(1)
	if fn, ok := v.(*glua.LFunction); ok && fn.IsG {
		L.Push(L.G.Global)
		return 1
	}
	L.Push(L.GetFEnv(v))
	return 1
}

// debugSetfenv is debug.setfenv(v, t). A shared function's environment
// and upvalues belong to every state, so they cannot be changed.
func debugSetfenv(L *glua.LState) int {
	v := L.CheckAny(1)
	t := lua51.TableArg(L, 2)
	if fn, ok := v.(*glua.LFunction); ok && isShared(fn) {
		L.RaiseError("'setfenv' cannot change environment of given object")
	}
	L.SetFEnv(v, t)
	L.SetTop(1)
	return 1
}

// debugSetupvalue is debug.setupvalue(f, up, v), refused for the
// shared functions.
func debugSetupvalue(L *glua.LState) int {
	fn := L.CheckFunction(1)
	n := L.CheckInt(2)
	v := L.CheckAny(3)
	if isShared(fn) {
		L.RaiseError("cannot change an upvalue of a library function")
	}
	if name := L.SetUpvalue(fn, n, v); name != "" {
		L.Push(glua.LString(name))
		return 1
	}
	return 0
}

// RawField returns t[k] without metamethods, as rawget does: a library's
// field read through the state's view of it (string.format) counts as
// the table's own.
func RawField(L *glua.LState, t *glua.LTable, k glua.LValue) glua.LValue {
	return rawField(L, t, k)
}

// EachField calls f with each field of t, without metamethods, a
// library's fields included when t is the state's view of it.
func EachField(L *glua.LState, t *glua.LTable, f func(k, v glua.LValue)) {
	eachField(L, t, f)
}
