package lua

import (
	"github.com/wirelab/wirelab/lua/internal/lua51"
	glua "github.com/yuin/gopher-lua"
)

// The libraries and modules of a wirelab state, listed once, as
// gopher-lua's linit.go lists its own.

// A library is one of gopher-lua's with wirelab's corrections, which make
// it behave as Lua 5.1's does. Each library's corrections live in its own
// file: funcs, a table of functions that replace or add fields of the
// library's table (of the globals, for the base library), and patch, for
// what a table cannot do (wrapping gopher-lua's own functions, values of
// a state's own).
type library struct {
	name   string          // its global; "_G" for the base library
	open   glua.LGFunction // gopher-lua's opener
	shared bool            // opened once, shared by every state (libviews.go); else per state, when first named
	funcs  map[string]glua.LGFunction
	patch  func(L *glua.LState, lib *glua.LTable)
}

// libraries are gopher-lua's libraries, in the order they open.
var libraries = []*library{
	{name: "_G", open: glua.OpenBase, shared: true, funcs: baseFuncs, patch: patchBase},                                 // lib_base.go
	{name: glua.StringLibName, open: glua.OpenString, shared: true, funcs: lua51.StringFuncs, patch: lua51.PatchString}, // internal/lua51/string.go
	{name: glua.TabLibName, open: glua.OpenTable, shared: true, funcs: lua51.TableFuncs},                                // internal/lua51/table.go
	{name: glua.MathLibName, open: glua.OpenMath, patch: lua51.PatchMath},                                               // internal/lua51/math.go
	{name: glua.OsLibName, open: glua.OpenOs, funcs: lua51.OsFuncs},                                                     // internal/lua51/os.go
	{name: glua.IoLibName, open: glua.OpenIo, patch: lua51.PatchIo},                                                     // internal/lua51/io.go
	{name: glua.CoroutineLibName, open: glua.OpenCoroutine, patch: patchCoroutine},                                      // pcall.go
	{name: glua.DebugLibName, open: glua.OpenDebug, funcs: debugFuncs},                                                  // lib_debug.go
	{name: glua.LoadLibName, open: glua.OpenPackage, patch: patchPackage},                                               // lib_base.go
}

// moduleList is wirelab's own modules, set as globals on first use and
// preloaded for require; each is declared in its file.
var moduleList = []*module{socketModule, structModule, execModule, hashModule, jsonModule,
	textModule, termModule, taskModule, flagsModule}

// modules are wirelab's modules by name; gopherLibs are the libraries
// that open on first use of their global, by name, with their openers;
// libByName and libOrder are the libraries by name and in order. They are
// filled by init from the lists above: the libraries' functions reach the
// shared libraries, which are built from these, so a variable made from
// the lists directly would depend on itself.
var (
	modules    = map[string]*module{}
	gopherLibs = map[string]glua.LGFunction{}
	libByName  = map[string]*library{}
	libOrder   []*library
)

func init() {
	for _, m := range moduleList {
		modules[m.name] = m
	}
	for _, l := range libraries {
		libByName[l.name] = l
		libOrder = append(libOrder, l)
		if !l.shared {
			gopherLibs[l.name] = l.open
		}
	}
}

// openLib opens the library name in L and applies wirelab's corrections.
func openLib(L *glua.LState, name string) {
	lib := libByName[name]
	arg := name
	if name == "_G" {
		arg = glua.BaseLibName
	}
	L.Push(L.NewFunction(lib.open))
	L.Push(glua.LString(arg))
	L.Call(1, 0)
	tbl := L.G.Global
	if t, ok := L.G.Global.RawGetString(name).(*glua.LTable); ok && name != "_G" {
		tbl = t
	}
	for k, f := range lib.funcs {
		tbl.RawSetString(k, L.NewFunction(f))
	}
	if lib.patch != nil {
		lib.patch(L, tbl)
	}
	stateOf(L).rt.restrict(L, name, tbl)
}
