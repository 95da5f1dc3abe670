package lua

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// Values cross from one state to another in two steps. freeze turns a Lua
// value of the sending state into a Go value that no state owns: nil, bool,
// float64, string, or one of the types below. thaw builds it again in the
// receiving state. Frozen values are never modified, so one of them (a
// server's handler) can be thawed by many goroutines at once.

// fTable is a frozen table: its pairs and its metatable.
type fTable struct {
	keys, vals []any
	meta       *fTable
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

// fBuiltin names a library value ("string.format", "json.null") by its
// global path; each state has its own.
type fBuiltin string

// fGlobal is one global of a snapshot.
type fGlobal struct {
	name string
	v    any
}

// A frozenCall is a function, its arguments and the globals the script had
// defined when it was frozen: everything a task needs to start.
type frozenCall struct {
	globals []fGlobal
	fn      any
	args    []any
}

// baseNames are the globals that every state starts with.
var baseNames = sync.OnceValue(func() map[string]bool {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	L := rt.newState(nil)
	defer L.Close()
	names := map[string]bool{}
	L.G.Global.ForEach(func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); ok {
			names[string(s)] = true
		}
	})
	return names
})

// builtinPaths maps the library values loaded in s to their global paths.
func (s *state) builtinPaths() map[glua.LValue]string {
	if s.builtins != nil {
		return s.builtins
	}
	m := map[glua.LValue]string{}
	g := s.L.G.Global
	m[g] = "_G"
	libs := []string{glua.StringLibName, glua.TabLibName}
	for name := range gopherLibs {
		libs = append(libs, name)
	}
	for name := range modules {
		libs = append(libs, name)
	}
	for name := range baseNames() {
		if v := g.RawGetString(name); v.Type() == glua.LTFunction {
			m[v] = name
		}
	}
	for name := range lazyGlobals {
		if v := g.RawGetString(name); v.Type() == glua.LTFunction {
			m[v] = name
		}
	}
	for _, lib := range libs {
		tbl, ok := g.RawGetString(lib).(*glua.LTable)
		if !ok {
			continue
		}
		m[tbl] = lib
		tbl.ForEach(func(k, v glua.LValue) {
			if ks, ok := k.(glua.LString); ok && (v.Type() == glua.LTFunction || v.Type() == glua.LTUserData) {
				m[v] = lib + "." + string(ks)
			}
		})
	}
	s.builtins = m
	return m
}

// A freezer freezes the values of one state, keeping shared references
// shared and cycles finite.
type freezer struct {
	s    *state
	memo map[glua.LValue]any
	uvs  map[*glua.Upvalue]*fUpval
}

func newFreezer(L *glua.LState) *freezer {
	return &freezer{s: stateOf(L), memo: map[glua.LValue]any{}, uvs: map[*glua.Upvalue]*fUpval{}}
}

// TransferError says a value cannot move to another state.
type TransferError struct{ What string }

// Error implements error.
func (e *TransferError) Error() string {
	return "cannot pass " + e.What + " to another task"
}

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
	if path, ok := fz.s.builtinPaths()[v]; ok {
		return fBuiltin(path), nil
	}
	switch v := v.(type) {
	case *glua.LTable:
		t := &fTable{}
		fz.memo[v] = t
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
			return nil, err
		}
		if mt, ok := v.Metatable.(*glua.LTable); ok {
			fm, err := fz.freeze(mt)
			if err != nil {
				return nil, err
			}
			if ft, ok := fm.(*fTable); ok {
				t.meta = ft
			}
		}
		return t, nil
	case *glua.LFunction:
		f := &fFunc{proto: v.Proto, upvals: make([]*fUpval, len(v.Upvalues))}
		if v.IsG {
			f.gfn = v.GFunction
		}
		fz.memo[v] = f
		for i, uv := range v.Upvalues {
			if uv == nil {
				continue
			}
			fu, ok := fz.uvs[uv]
			if !ok {
				fu = &fUpval{}
				fz.uvs[uv] = fu
				val, err := fz.freeze(uv.Value())
				if err != nil {
					return nil, err
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
					return nil, err
				}
				f.env, _ = env.(*fTable)
			}
		}
		return f, nil
	case *glua.LUserData:
		if classOf(v.Value) == nil {
			return nil, &TransferError{What: "a userdata of another library"}
		}
		r := fRef{v: v.Value}
		fz.memo[v] = r
		return r, nil
	}
	return nil, &TransferError{What: "a " + v.Type().String()}
}

// freezeGlobals snapshots the globals the script defined (or replaced).
func (fz *freezer) freezeGlobals() ([]fGlobal, error) {
	paths := fz.s.builtinPaths()
	var out []fGlobal
	var err error
	fz.s.L.G.Global.ForEach(func(k, v glua.LValue) {
		name, ok := k.(glua.LString)
		if err != nil || !ok || paths[v] == string(name) {
			return
		}
		var fv any
		if fv, err = fz.freeze(v); err != nil {
			err = fmt.Errorf("global %s: %w", name, err)
			return
		}
		out = append(out, fGlobal{name: string(name), v: fv})
	})
	return out, err
}

// freezeCall freezes fn and args with the globals of L.
func freezeCall(L *glua.LState, fn glua.LValue, args []glua.LValue) (*frozenCall, error) {
	fz := newFreezer(L)
	globals, err := fz.freezeGlobals()
	if err != nil {
		return nil, err
	}
	c := &frozenCall{globals: globals, args: make([]any, len(args))}
	if c.fn, err = fz.freeze(fn); err != nil {
		return nil, err
	}
	for i, a := range args {
		if c.args[i], err = fz.freeze(a); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return c, nil
}

// freezeValues freezes values of L (a channel message, a task's results).
func freezeValues(L *glua.LState, vals ...glua.LValue) ([]any, error) {
	fz := newFreezer(L)
	out := make([]any, len(vals))
	for i, v := range vals {
		var err error
		if out[i], err = fz.freeze(v); err != nil {
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
}

func newThawer(L *glua.LState) *thawer {
	return &thawer{L: L, memo: map[any]glua.LValue{}, uvs: map[*fUpval]*glua.Upvalue{}}
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
	}
	if lv, ok := th.memo[v]; ok {
		return lv
	}
	switch v := v.(type) {
	case *fTable:
		t := th.L.CreateTable(0, len(v.keys))
		th.memo[v] = t
		for i, k := range v.keys {
			t.RawSet(th.thaw(k), th.thaw(v.vals[i]))
		}
		if v.meta != nil {
			t.Metatable = th.thaw(v.meta)
		}
		return t
	case *fFunc:
		f := &glua.LFunction{IsG: v.proto == nil, Proto: v.proto, GFunction: v.gfn, Upvalues: make([]*glua.Upvalue, len(v.upvals))}
		th.memo[v] = f
		switch {
		case v.globalEnv:
			f.Env = th.L.G.Global
		case v.env != nil:
			f.Env = th.thaw(v.env).(*glua.LTable)
		default:
			f.Env = th.L.G.Global
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
		return f
	}
	panic(fmt.Sprintf("thaw: unexpected %T", v))
}

// thawCall builds c in L: the globals are set, the function and its
// arguments returned.
func thawCall(L *glua.LState, c *frozenCall) (glua.LValue, []glua.LValue) {
	th := newThawer(L)
	for _, g := range c.globals {
		L.G.Global.RawSetString(g.name, th.thaw(g.v))
	}
	args := make([]glua.LValue, len(c.args))
	for i, a := range c.args {
		args[i] = th.thaw(a)
	}
	return th.thaw(c.fn), args
}

// thawValues builds frozen values in L.
func thawValues(L *glua.LState, vals []any) []glua.LValue {
	th := newThawer(L)
	out := make([]glua.LValue, len(vals))
	for i, v := range vals {
		out[i] = th.thaw(v)
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
