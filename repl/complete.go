package repl

import (
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/lua"
)

// complete returns the completions of the word that ends at pos in line,
// for liner's word completer: globals and keywords (`so` -> socket),
// fields of tables and modules (`socket.co` -> socket.connect), and
// methods of objects (`c:re` -> c:recv, c:recv_exact, ...).
func complete(L *glua.LState, line string, pos int) (head string, completions []string, tail string) {
	tail = line[pos:]
	start := pos
	for start > 0 && isWordByte(line[start-1]) {
		start--
	}
	word := line[start:pos]
	head = line[:start]
	sep := strings.LastIndexAny(word, ".:")
	if sep < 0 {
		names := append(lua.GlobalNames(L), lua.Keywords()...)
		return head, matching(names, "", word), tail
	}
	base, partial := word[:sep], word[sep+1:]
	v := resolve(L, base)
	if v == glua.LNil {
		return head, nil, tail
	}
	prefix := word[:sep+1]
	if word[sep] == ':' {
		return head, matching(methods(L, v), prefix, partial), tail
	}
	return head, matching(fields(L, v), prefix, partial), tail
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// matching returns prefix+name for each name that starts with partial.
func matching(names []string, prefix, partial string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, partial) && !seen[n] {
			seen[n] = true
			out = append(out, prefix+n)
		}
	}
	sort.Strings(out)
	return out
}

// resolve looks up a dotted path of globals and fields without running
// any code but library loading.
func resolve(L *glua.LState, path string) glua.LValue {
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '.' || r == ':' })
	if len(parts) == 0 {
		return glua.LNil
	}
	v := L.GetGlobal(parts[0])
	for _, p := range parts[1:] {
		t, ok := v.(*glua.LTable)
		if !ok {
			return glua.LNil
		}
		v = lua.RawField(L, t, glua.LString(p))
	}
	return v
}

// fields returns the string keys of a table.
func fields(L *glua.LState, v glua.LValue) []string {
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil
	}
	var out []string
	lua.EachField(L, t, func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); ok {
			out = append(out, string(s))
		}
	})
	return out
}

// methods returns what v:name can call: a wirelab object's methods, or a
// table's functions and those of its metatable's __index table.
func methods(L *glua.LState, v glua.LValue) []string {
	if names := lua.MethodNames(v); names != nil {
		return names
	}
	var out []string
	seen := map[*glua.LTable]bool{}
	for t, ok := v.(*glua.LTable); ok && !seen[t]; {
		seen[t] = true
		lua.EachField(L, t, func(k, val glua.LValue) {
			if s, ok := k.(glua.LString); ok && val.Type() == glua.LTFunction {
				out = append(out, string(s))
			}
		})
		mt, isTable := L.GetMetatable(t).(*glua.LTable)
		if !isTable {
			break
		}
		t, ok = mt.RawGetString("__index").(*glua.LTable)
	}
	return out
}
