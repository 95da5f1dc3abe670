package lua

import (
	"fmt"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// Values cross from one state to another in two steps. freeze turns a Lua
// value of the sending state into a Go value that no state owns: nil, bool,
// float64, string, or one of the types below. thaw builds it again in the
// receiving state. Frozen values are never modified once frozen, so one of
// them (a server's handler) can be thawed by many goroutines at once.
//
// Both walk with a work list instead of recursion, so a linked list of a
// million nodes copies like any other table. How each Go object type
// moves (by reference, as a copy, or not at all) its class states where
// it is declared (classes.go; transfer_rules.go reads it).

// fTable is a frozen table: its pairs and its metatable.
type fTable struct {
	keys, vals []any
	meta       any // *fTable, fClass or nil
}

// fClass is a metatable that is a global of the sending state (a class,
// as in Point.__index = Point): the receiver uses its own global of that
// name when it has one, so getmetatable(p) == Point holds there too.
type fClass struct {
	name string
	mt   *fTable
}

// fFunc is a frozen function: a Lua function's prototype (immutable, so
// shared by every state) or a Go function, and copies of its upvalues.
type fFunc struct {
	proto     *glua.FunctionProto
	gfn       glua.LGFunction
	upvals    []*fUpval
	globalEnv bool    // the function sees the receiving state's globals
	env       *fTable // or this table, when it had another environment
}

// fUpval is a frozen upvalue; closures that shared one share its copy.
type fUpval struct{ v any }

// fRef is a Go object (connection, channel, ...) that moves by reference.
type fRef struct{ v any }

// fCopy is a Go object that moves as a copy: a snapshot taken when it was
// frozen, copied again for every state that thaws it, so that no two
// states share one. Copying a snapshot does not fail where taking it did
// not; if it did, the receiver would get the snapshot itself.
type fCopy struct {
	v    any
	copy func(any) (any, error)
}

// fBuiltin names a library value ("string.format", "json.null") by its
// global path; each state has its own.
type fBuiltin string

// fGlobal is one global, or one field of a library table ("string.trim"),
// that a task gets from the state that started it.
type fGlobal struct {
	lib  string // "" for a global
	name string
	v    any
}

// A frozenCall is a function, its arguments and the globals its code can
// reach: everything a task needs to start.
//
// A task gets the globals whose names its code mentions (the string
// constants of its functions' prototypes, transitively through the
// functions those globals hold), not every global of the script: a
// million-entry table the handler never names costs nothing per
// connection. Code that reaches globals by computed name (_G, getfenv,
// setfenv, load, loadstring, dofile, loadfile, require, module) gets them
// all. What was added to the libraries (string.trim, package.path) comes
// along too. A global that cannot be copied (a coroutine, an open file)
// does not stop the task: it is left out, and naming it in the task
// raises an error that says why.
type frozenCall struct {
	globals  []fGlobal
	poisoned map[string]string // global -> why it could not be copied
	fn       any
	args     []any
}

// dynamicGlobals are the names through which code can reach any global.
var dynamicGlobals = []string{"_G", "getfenv", "setfenv", "load", "loadstring",
	"dofile", "loadfile", "require", "module"}

// protoNames caches the string constants of a prototype and its nested
// prototypes: the globals its code may name.
var protoNames sync.Map // *glua.FunctionProto -> []string

func namesOf(p *glua.FunctionProto) []string {
	if v, ok := protoNames.Load(p); ok {
		return v.([]string)
	}
	seen := map[string]bool{}
	var walk func(p *glua.FunctionProto)
	walk = func(p *glua.FunctionProto) {
		for _, c := range p.Constants {
			if s, ok := c.(glua.LString); ok {
				seen[string(s)] = true
			}
		}
		for _, sub := range p.FunctionPrototypes {
			walk(sub)
		}
	}
	walk(p)
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	protoNames.Store(p, names)
	return names
}

// A freezer freezes the values of one state, keeping shared references
// shared and cycles finite.
type freezer struct {
	s    *state
	memo map[glua.LValue]any
	uvs  map[*glua.Upvalue]*fUpval
	work []func() error
	// added and addedUV list what the current root added to memo and
	// uvs, to undo a failed root.
	added   []glua.LValue
	addedUV []*glua.Upvalue
	// names collects the global names that frozen code mentions, when
	// freezing a call; nil otherwise.
	names   map[string]bool
	pending []string
	// classes maps the global tables of the state to their names.
	classes map[*glua.LTable]string
}

func newFreezer(L *glua.LState) *freezer {
	return &freezer{s: stateOf(L), memo: map[glua.LValue]any{}, uvs: map[*glua.Upvalue]*fUpval{}}
}

// root freezes v and everything it reaches. On failure the values frozen
// on the way are forgotten, so that nothing half-built is shared later.
func (fz *freezer) root(v glua.LValue) (any, error) {
	fz.added, fz.addedUV = fz.added[:0], fz.addedUV[:0]
	f, err := fz.freeze(v)
	for err == nil && len(fz.work) > 0 {
		w := fz.work[len(fz.work)-1]
		fz.work = fz.work[:len(fz.work)-1]
		err = w()
	}
	if err != nil {
		fz.work = fz.work[:0]
		for _, k := range fz.added {
			delete(fz.memo, k)
		}
		for _, uv := range fz.addedUV {
			delete(fz.uvs, uv)
		}
		return nil, err
	}
	return f, nil
}

func (fz *freezer) remember(v glua.LValue, f any) {
	fz.memo[v] = f
	fz.added = append(fz.added, v)
}

// freeze returns the frozen form of v; a table's or function's contents
// are filled in by the work list.
func (fz *freezer) freeze(v glua.LValue) (any, error) {
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(v), nil
	case glua.LNumber:
		return float64(v), nil
	case glua.LString:
		return string(v), nil
	}
	if f, ok := fz.memo[v]; ok {
		return f, nil
	}
	if path, ok := fz.s.builtinMap()[v]; ok {
		if path == "_G" && fz.names != nil {
			fz.mention("_G")
		}
		return fBuiltin(path), nil
	}
	switch v := v.(type) {
	case *glua.LTable:
		t := &fTable{}
		fz.remember(v, t)
		fz.work = append(fz.work, func() error { return fz.fillTable(v, t) })
		return t, nil
	case *glua.LFunction:
		f := &fFunc{proto: v.Proto, upvals: make([]*fUpval, len(v.Upvalues))}
		if v.IsG {
			f.gfn = v.GFunction
		}
		fz.remember(v, f)
		fz.work = append(fz.work, func() error { return fz.fillFunc(v, f) })
		return f, nil
	case *glua.LUserData:
		f, err := freezeObject(v.Value)
		if err != nil {
			return nil, err
		}
		fz.remember(v, f)
		return f, nil
	}
	return nil, &TransferError{What: "a " + v.Type().String()}
}

func (fz *freezer) fillTable(v *glua.LTable, t *fTable) error {
	var err error
	v.ForEach(func(k, val glua.LValue) {
		if err != nil {
			return
		}
		var fk, fv any
		if fk, err = fz.freeze(k); err != nil {
			return
		}
		if fv, err = fz.freeze(val); err != nil {
			return
		}
		t.keys = append(t.keys, fk)
		t.vals = append(t.vals, fv)
	})
	if err != nil {
		return err
	}
	mt, ok := v.Metatable.(*glua.LTable)
	if !ok {
		return nil
	}
	fm, err := fz.freeze(mt)
	if err != nil {
		return err
	}
	t.meta = fm
	if ft, ok := fm.(*fTable); ok {
		if name, ok := fz.globalTables()[mt]; ok {
			t.meta = fClass{name: name, mt: ft}
		}
	}
	return nil
}

func (fz *freezer) fillFunc(v *glua.LFunction, f *fFunc) error {
	if v.Proto != nil && fz.names != nil {
		for _, n := range namesOf(v.Proto) {
			fz.mention(n)
		}
	}
	for i, uv := range v.Upvalues {
		if uv == nil {
			continue
		}
		fu, ok := fz.uvs[uv]
		if !ok {
			fu = &fUpval{}
			fz.uvs[uv] = fu
			fz.addedUV = append(fz.addedUV, uv)
			val, err := fz.freeze(uv.Value())
			if err != nil {
				return err
			}
			fu.v = val
		}
		f.upvals[i] = fu
	}
	if !v.IsG {
		if v.Env == fz.s.L.G.Global {
			f.globalEnv = true
		} else if v.Env != nil {
			env, err := fz.freeze(v.Env)
			if err != nil {
				return err
			}
			f.env, _ = env.(*fTable)
		}
	}
	return nil
}

// mention records that frozen code names the global n.
func (fz *freezer) mention(n string) {
	if !fz.names[n] {
		fz.names[n] = true
		fz.pending = append(fz.pending, n)
	}
}

// globalTables maps the tables that are globals of the state to their names.
func (fz *freezer) globalTables() map[*glua.LTable]string {
	if fz.classes == nil {
		fz.classes = map[*glua.LTable]string{}
		fz.s.L.G.Global.ForEach(func(k, v glua.LValue) {
			if t, ok := v.(*glua.LTable); ok {
				if name, ok := k.(glua.LString); ok {
					fz.classes[t] = string(name)
				}
			}
		})
	}
	return fz.classes
}

// freezeCall freezes fn and args with the globals and library additions of
// L that they can reach.
func freezeCall(L *glua.LState, fn glua.LValue, args []glua.LValue) (*frozenCall, error) {
	fz := newFreezer(L)
	fz.names = map[string]bool{}
	c := &frozenCall{args: make([]any, len(args)), poisoned: map[string]string{}}
	var err error
	if c.fn, err = fz.root(fn); err != nil {
		return nil, err
	}
	for i, a := range args {
		if c.args[i], err = fz.root(a); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	// What was added to the libraries, and what it names in turn.
	for _, lib := range fz.s.libs {
		tbl, ok := L.G.Global.RawGetString(lib).(*glua.LTable)
		if !ok || fz.s.builtinMap()[tbl] != lib {
			continue
		}
		tbl.ForEach(func(k, v glua.LValue) {
			key, ok := k.(glua.LString)
			if !ok || fz.s.isBuiltin(lib+"."+string(key), v) || skipField[lib+"."+string(key)] {
				return
			}
			if fv, err := fz.root(v); err == nil {
				c.globals = append(c.globals, fGlobal{lib: lib, name: string(key), v: fv})
			}
		})
	}
	g := L.G.Global
	for len(fz.pending) > 0 {
		name := fz.pending[0]
		fz.pending = fz.pending[1:]
		if dynamic(name) {
			// Every global, then.
			g.ForEach(func(k, _ glua.LValue) {
				if s, ok := k.(glua.LString); ok {
					fz.mention(string(s))
				}
			})
			continue
		}
		v := g.RawGetString(name)
		if v == glua.LNil || fz.s.isBuiltin(name, v) {
			continue
		}
		fv, err := fz.root(v)
		if err != nil {
			c.poisoned[name] = err.Error()
			continue
		}
		c.globals = append(c.globals, fGlobal{name: name, v: fv})
	}
	return c, nil
}

func dynamic(name string) bool {
	for _, d := range dynamicGlobals {
		if name == d {
			return true
		}
	}
	return false
}

// skipField are library fields that a task does not inherit: the state of
// the module system itself.
var skipField = map[string]bool{"package.loaded": true, "package.loaders": true, "package.preload": true}

// freezeValues freezes values of L (a channel message, a task's results).
func freezeValues(L *glua.LState, vals ...glua.LValue) ([]any, error) {
	fz := newFreezer(L)
	out := make([]any, len(vals))
	for i, v := range vals {
		var err error
		if out[i], err = fz.root(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// A thawer builds frozen values in one state.
type thawer struct {
	L    *glua.LState
	memo map[any]glua.LValue
	uvs  map[*fUpval]*glua.Upvalue
	work []func()
}

func newThawer(L *glua.LState) *thawer {
	return &thawer{L: L, memo: map[any]glua.LValue{}, uvs: map[*fUpval]*glua.Upvalue{}}
}

// value thaws v and everything it reaches.
func (th *thawer) value(v any) glua.LValue {
	lv := th.thaw(v)
	for len(th.work) > 0 {
		w := th.work[len(th.work)-1]
		th.work = th.work[:len(th.work)-1]
		w()
	}
	return lv
}

func (th *thawer) thaw(v any) glua.LValue {
	switch v := v.(type) {
	case nil:
		return glua.LNil
	case bool:
		return glua.LBool(v)
	case float64:
		return glua.LNumber(v)
	case string:
		return glua.LString(v)
	case fBuiltin:
		return lookupPath(th.L, string(v))
	case fRef:
		return newObject(th.L, v.v)
	case *fCopy:
		if lv, ok := th.memo[v]; ok {
			return lv
		}
		obj, err := v.copy(v.v)
		if err != nil {
			obj = v.v
		}
		lv := newObject(th.L, obj)
		th.memo[v] = lv
		return lv
	case fClass:
		return th.class(v)
	}
	if lv, ok := th.memo[v]; ok {
		return lv
	}
	switch v := v.(type) {
	case *fTable:
		t := th.L.CreateTable(0, len(v.keys))
		th.memo[v] = t
		th.work = append(th.work, func() {
			for i, k := range v.keys {
				t.RawSet(th.thaw(k), th.thaw(v.vals[i]))
			}
			if v.meta != nil {
				t.Metatable = th.thaw(v.meta)
			}
		})
		return t
	case *fFunc:
		f := &glua.LFunction{IsG: v.proto == nil, Proto: v.proto, GFunction: v.gfn, Upvalues: make([]*glua.Upvalue, len(v.upvals))}
		th.memo[v] = f
		f.Env = th.L.G.Global
		th.work = append(th.work, func() {
			if v.env != nil {
				f.Env = th.thaw(v.env).(*glua.LTable)
			}
			for i, fu := range v.upvals {
				if fu == nil {
					continue
				}
				uv, ok := th.uvs[fu]
				if !ok {
					// A zero Upvalue is closed: it holds its value itself.
					uv = &glua.Upvalue{}
					th.uvs[fu] = uv
					uv.SetValue(th.thaw(fu.v))
				}
				f.Upvalues[i] = uv
			}
		})
		return f
	}
	panic(fmt.Sprintf("thaw: unexpected %T", v))
}

// class returns the receiver's table for the class c: the one thawed in
// this call, the global of that name, or a copy made once per state.
func (th *thawer) class(c fClass) glua.LValue {
	if lv, ok := th.memo[c.mt]; ok {
		return lv
	}
	if t, ok := th.L.G.Global.RawGetString(c.name).(*glua.LTable); ok {
		return t
	}
	s := stateOf(th.L)
	if t, ok := s.classes[c.name]; ok {
		return t
	}
	t := th.thaw(c.mt)
	if s.classes == nil {
		s.classes = map[string]glua.LValue{}
	}
	s.classes[c.name] = t
	return t
}

// thawCall builds c in L: the globals and library additions are set, the
// function and its arguments returned.
func thawCall(L *glua.LState, c *frozenCall) (glua.LValue, []glua.LValue) {
	th := newThawer(L)
	if len(c.poisoned) > 0 {
		stateOf(L).poisoned = c.poisoned
	}
	for _, g := range c.globals {
		if g.lib == "" {
			L.G.Global.RawSetString(g.name, th.value(g.v))
		} else if tbl, ok := L.GetGlobal(g.lib).(*glua.LTable); ok {
			tbl.RawSetString(g.name, th.value(g.v))
			wrote(L, tbl)
		}
	}
	args := make([]glua.LValue, len(c.args))
	for i, a := range c.args {
		args[i] = th.value(a)
	}
	return th.value(c.fn), args
}

// thawValues builds frozen values in L.
func thawValues(L *glua.LState, vals []any) []glua.LValue {
	th := newThawer(L)
	out := make([]glua.LValue, len(vals))
	for i, v := range vals {
		out[i] = th.value(v)
	}
	return out
}

// lookupPath returns the value at a global path such as "string.format",
// loading libraries as needed.
func lookupPath(L *glua.LState, path string) glua.LValue {
	parts := strings.Split(path, ".")
	v := L.GetGlobal(parts[0])
	for _, p := range parts[1:] {
		v = L.GetField(v, p)
	}
	return v
}
