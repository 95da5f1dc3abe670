package lua

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// docsByFunc maps the Go function behind every documented Lua function or
// method to its qualified name and doc, so that help(socket.connect) finds
// it from the value alone.
var docsByFunc = sync.OnceValue(func() map[uintptr][2]string {
	m := map[uintptr][2]string{}
	for _, mod := range modules {
		for _, f := range mod.funcs {
			m[reflect.ValueOf(f.f).Pointer()] = [2]string{mod.name + "." + f.name, f.doc}
		}
	}
	// A method that several classes share (conn's, which a process has
	// too) is named after the first class by name.
	names := make([]string, 0, len(classes))
	for name := range classes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, f := range classes[name].methods {
			if _, taken := m[reflect.ValueOf(f.f).Pointer()]; !taken {
				m[reflect.ValueOf(f.f).Pointer()] = [2]string{name + ":" + f.name, f.doc}
			}
		}
	}
	return m
})

// FuncName returns the qualified name of a documented function
// ("socket.connect", "conn:recv"), or "".
func FuncName(v glua.LValue) string {
	if f, ok := v.(*glua.LFunction); ok && f.IsG {
		return docsByFunc()[reflect.ValueOf(f.GFunction).Pointer()][0]
	}
	return ""
}

// MethodNames returns the sorted method names of a wirelab object, or nil
// for other values.
func MethodNames(v glua.LValue) []string {
	ud, ok := v.(*glua.LUserData)
	if !ok {
		return nil
	}
	c := classOf(ud.Value)
	if c == nil {
		return nil
	}
	names := make([]string, 0, len(c.methods))
	for _, m := range c.methods {
		names = append(names, m.name)
	}
	sort.Strings(names)
	return names
}

// Help returns the help text for v, as the REPL's help() shows it: with
// nil, every module; with a module (or its name), its functions; with a
// function (or "socket.connect", "conn:recv"), its signature and doc; with
// an object (or a class name such as "conn"), its methods.
func Help(L *glua.LState, v glua.LValue) string {
	rt := stateOf(L).rt
	switch v := v.(type) {
	case *glua.LNilType:
		return overview(rt)
	case glua.LString:
		return helpName(rt, string(v))
	case *glua.LFunction:
		if d, ok := docsByFunc()[funcPointer(v)]; ok {
			return d[1] + "\n"
		}
		return "no help for this function: a Lua builtin (see the Lua 5.1 manual) or one of yours\n"
	case *glua.LTable:
		for _, name := range rt.moduleNames() {
			if L.G.Global.RawGetString(name) == v {
				return helpName(rt, name)
			}
		}
		return "a table: no help for it\n"
	case *glua.LUserData:
		if c := classOf(v.Value); c != nil {
			return helpClass(c)
		}
	}
	return fmt.Sprintf("no help for a %s\n", v.Type())
}

func funcPointer(f *glua.LFunction) uintptr {
	if !f.IsG {
		return 0
	}
	return reflect.ValueOf(f.GFunction).Pointer()
}

func overview(rt *Runtime) string {
	var b strings.Builder
	b.WriteString("wirelab modules (help(socket), help(socket.connect), help(\"conn\") for more):\n")
	for _, name := range rt.moduleNames() {
		m, _ := rt.module(name)
		fmt.Fprintf(&b, "  %-8s %s\n", name, m.doc)
	}
	b.WriteString("objects: ")
	var cls []string
	for name, c := range classes {
		if len(c.methods) > 0 {
			cls = append(cls, name)
		}
	}
	sort.Strings(cls)
	b.WriteString(strings.Join(cls, ", "))
	b.WriteString("\nscripts() lists the bundled scripts; _ holds the last value.\n")
	return b.String()
}

func helpName(rt *Runtime, name string) string {
	if m, ok := rt.module(name); ok {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s\n", m.name, m.doc)
		for _, f := range m.funcs {
			if f.doc == "" {
				f.doc = m.name + "." + f.name
			}
			fmt.Fprintf(&b, "  %s\n", f.doc)
		}
		return b.String()
	}
	if c, ok := classes[name]; ok {
		return helpClass(c)
	}
	mod, fname, ok := strings.Cut(name, ".")
	if !ok {
		mod, fname, ok = strings.Cut(name, ":")
	}
	if ok {
		if m, found := rt.module(mod); found {
			for _, f := range m.funcs {
				if f.name == fname {
					return f.doc + "\n"
				}
			}
		}
		if c, found := classes[mod]; found {
			for _, f := range c.methods {
				if f.name == fname {
					return f.doc + "\n"
				}
			}
		}
	}
	return fmt.Sprintf("no help for %q; help() lists the modules\n", name)
}

func helpClass(c *class) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.name, c.doc)
	for _, f := range c.methods {
		fmt.Fprintf(&b, "  %s\n", f.doc)
	}
	return b.String()
}

// keywords are Lua 5.1's reserved words.
var keywords = []string{"and", "break", "do", "else", "elseif", "end", "false", "for", "function",
	"if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"}

// Keywords returns Lua's reserved words.
func Keywords() []string { return append([]string(nil), keywords...) }

// IsKeyword reports whether s is a reserved word.
func IsKeyword(s string) bool {
	for _, k := range keywords {
		if k == s {
			return true
		}
	}
	return false
}
