package lua

import (
	"sort"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// Errors that name the mistake: a missing method of a wirelab object, a
// missing field of a wirelab module and an unknown option key say which
// known name was probably meant, as "did you mean ...?".

// suggest returns the candidate closest to name, or "" when none is close
// enough to be a likely slip: an edit distance (insertions, deletions,
// substitutions and swaps of neighbours, case ignored) of at most a third
// of name's length, and at least 1.
func suggest(name string, candidates []string) string {
	best, bestD := "", 0
	limit := max(1, min(3, len(name)/3))
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(lname, strings.ToLower(c))
		if d > limit || c == name {
			continue
		}
		if best == "" || d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
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
		// additions are in its view (shared.go).
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
