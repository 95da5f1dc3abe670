package lua

import (
	"sort"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/internal/textsim"
)

// Errors that name the mistake: a missing method of a wirelab object, a
// missing field of a wirelab module and an unknown option key say which
// known name was probably meant, as "did you mean ...?".

// suggest returns the candidate closest to name, or "" when none is close
// enough to be a likely slip (textsim.Suggest).
func suggest(name string, candidates []string) string {
	return textsim.Suggest(name, candidates)
}

// didYouMean is " (did you mean x?)" for the suggestion of name, or "".
func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// missingMethod is the __index of a class's methods table (classes.go):
// reached only when the name is not a method, it raises
// "conn has no method 'recv_untill' (did you mean recv_until?)".
func missingMethod(c *class) glua.LGFunction {
	names := make([]string, len(c.methods))
	for i, m := range c.methods {
		names[i] = m.name
	}
	return func(L *glua.LState) int {
		key := L.Get(2)
		if s, ok := key.(glua.LString); ok {
			L.RaiseError("%s", missMessage(L, c.name+" has no method '"+string(s)+"'", c.name, string(s), names))
		}
		L.RaiseError("%s has no method %s", c.name, glua.LVAsString(key))
		return 0
	}
}

// missMessage words a missing method or module field name of owner (a
// class or module), what saying which: read, "conn has no method 'recvx'
// (did you mean recv?)"; called, in Lua 5.1's words with that as the
// reason, "attempt to call method 'recvx' (a nil value) (conn has no
// method 'recvx': did you mean recv?)". A LuaSocket name says what wirelab
// has instead.
func missMessage(L *glua.LState, what, owner, name string, names []string) string {
	hint := luaSocketHints[owner+"."+name]
	kind, called := callKind(L)
	switch {
	case called && hint != "":
		return "attempt to call " + kind + " '" + name + "' (a nil value) (" + hint + ")"
	case called:
		if s := suggest(name, names); s != "" {
			what += ": did you mean " + s + "?"
		}
		return "attempt to call " + kind + " '" + name + "' (a nil value) (" + what + ")"
	case hint != "":
		return what + " (" + hint + ")"
	}
	return what + didYouMean(name, names)
}

// moduleMetas are the metatables of the wirelab modules' tables, one per
// module, shared by every state (their functions are Go functions; the
// tables are never written after this, and __metatable keeps scripts from
// getting them).
var moduleMetas = sync.OnceValue(func() map[string]*glua.LTable {
	owner := glua.NewState(glua.Options{SkipOpenLibs: true})
	metas := map[string]*glua.LTable{}
	for name := range modules {
		mt := owner.NewTable()
		mt.RawSetString("__index", owner.NewFunction(missingField(name)))
		mt.RawSetString("__metatable", glua.LFalse)
		metas[name] = mt
	}
	return metas
})

// missingField is the __index of a module's table: reading a field the
// module does not have raises "module 'socket' has no field 'conect' (did
// you mean connect?)". Feature detection reads with rawget(socket, name),
// which gives nil.
func missingField(module string) glua.LGFunction {
	return func(L *glua.LState) int {
		key, ok := L.Get(2).(glua.LString)
		if !ok {
			L.RaiseError("module '%s' has no field %s", module, glua.LVAsString(L.Get(2)))
		}
		var names []string
		add := func(k, _ glua.LValue) {
			if s, ok := k.(glua.LString); ok {
				names = append(names, string(s))
			}
		}
		if t, ok := L.Get(1).(*glua.LTable); ok {
			t.ForEach(add)
		}
		// The table indexed is the shared library; the script's own
		// additions are in its view (libviews.go).
		if view, ok := L.G.Global.RawGetString(module).(*glua.LTable); ok && view != L.Get(1) {
			view.ForEach(add)
		}
		sort.Strings(names)
		L.RaiseError("%s", missMessage(L, "module '"+module+"' has no field '"+string(key)+"'", module, string(key), names))
		return 0
	}
}

// shortNames maps the code of wirelab's Go functions to their names
// ("recv", "connect"), for naming the function in an argument error that
// gopher-lua could not name (a function called from Go: pcall(c.recv, c,
// "x"), task.spawn(f)).
var shortNames = sync.OnceValue(func() map[uintptr]string {
	m := map[uintptr]string{}
	for code, doc := range docsByFunc() {
		name := doc[0]
		if i := strings.LastIndexAny(name, ".:"); i >= 0 {
			name = name[i+1:]
		}
		m[code] = name
	}
	return m
})

// nameArgError names fn in an argument error raised by fn itself when
// called from Go, where gopher-lua names it '?': "bad argument #2 to '?'"
// becomes "bad argument #2 to 'recv'" when fn is conn:recv. Other values
// are returned as they are.
func nameArgError(msg glua.LValue, fn glua.LValue) glua.LValue {
	s, ok := msg.(glua.LString)
	if !ok || !strings.Contains(string(s), " to '?' (") {
		return msg
	}
	f, ok := fn.(*glua.LFunction)
	if !ok || !f.IsG {
		return msg
	}
	name, ok := shortNames()[codeOf(f)]
	if !ok {
		return msg
	}
	i := strings.Index(string(s), " to '?' (")
	if !strings.Contains(string(s)[:i], "bad argument #") {
		return msg
	}
	return glua.LString(string(s)[:i] + " to '" + name + "' (" + string(s)[i+len(" to '?' ("):])
}
